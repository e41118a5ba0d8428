# llmload container image: a build stage with the compilers, a final stage with only the binary,
# the shared libraries it links, CA certificates and profiles/, run as a non-root user.
#   scripts/container-build.sh        builds it with podman (base image from Debian's packages)
# Every run option is also an LLMLOAD_* variable (docs/configuration.md), so a ConfigMap and a
# Secret configure a pod (deploy/, docs/kubernetes.md). The entrypoint is the binary itself: no
# shell runs at start, and SIGTERM reaches llmload directly (it writes its partial report).

FROM debian:bookworm AS build
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends build-essential pkg-config python3 \
      libuv1-dev libcurl4-openssl-dev libcjson-dev libgsl-dev libhttp-parser-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY include include
COPY src src
COPY scripts/embed-assets.py scripts/flatten-text.py scripts/
COPY third_party third_party
COPY data/corpus data/corpus
COPY profiles profiles
# .git is not copied (.dockerignore): the version comes in as a build argument.
ARG LLMLOAD_GIT=unknown
RUN make -j"$(nproc)" MODE=release VERSION="$LLMLOAD_GIT" all \
 && make MODE=release VERSION="$LLMLOAD_GIT" install PREFIX=/usr DESTDIR=/out \
 && /out/usr/bin/llmload --version

FROM debian:bookworm
ARG DEBIAN_FRONTEND=noninteractive
# The runtime packages of the libraries the binary links (ldd build/release/llmload).
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends ca-certificates \
      libuv1 libcurl4 libcjson1 libgsl27 libgslcblas0 libhttp-parser2.9 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && useradd --uid 10001 --user-group --no-create-home --home-dir /reports \
      --shell /usr/sbin/nologin llmload \
 && mkdir -p /reports && chown 10001:10001 /reports
COPY --from=build /out/usr/bin/llmload /usr/bin/llmload
COPY --from=build /out/usr/share/llmload/profiles /usr/share/llmload/profiles
# Numeric, so Kubernetes' runAsNonRoot can check it without reading /etc/passwd.
USER 10001:10001
WORKDIR /reports
ENTRYPOINT ["llmload"]
CMD ["--help"]
