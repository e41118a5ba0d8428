# llmload - GNU Make build. Quiet by default (`V=1` shows full commands).
#
#   make            release build: build/release/llmload (and ./llmload, a link to it)
#   make test       install missing Debian packages, build, run every test (release and ASan+UBSan, side by side)
#   make asan       AddressSanitizer + UBSan build and its test run
#   make fuzz       libFuzzer targets (clang), FUZZ_SECONDS each (default 60)
#   make valgrind   short runs of every schedule, fault and real-server shape under valgrind memcheck (~1 min)
#   make demo       simulator + sweep, prints the table and where the reports are
#   make bench      speed yardstick (scripts/bench), writes docs/performance.md figures
#   make container-image  the podman image localhost/llmload:dev (scripts/container-build.sh)
#   make container-test   image + deploy/ manifests run for real with podman (tests/container)
#   make style      the mechanical style checks (scripts/check-style.sh: purpose blocks, include guards,
#                   no util.c, no mutable globals outside main.c and src/sim/)
#   make install    PREFIX=/usr/local
#
# Objects live in build/<mode>/ so release and sanitizer builds never mix; header dependencies
# come from -MMD -MP.

MODE ?= release
BUILD := build/$(MODE)
CC ?= cc
PYTHON ?= /usr/bin/python3
PREFIX ?= /usr/local
FUZZ_SECONDS ?= 60

PKGS := libuv libcurl libcjson gsl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lhttp_parser -lm -lpthread
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)

VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo unknown)
BASE_VERSION := 0.1.0

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter -Wno-format-truncation
CFLAGS_COMMON := -std=c11 -D_GNU_SOURCE -Iinclude $(PKG_CFLAGS) $(WARN) -MMD -MP
ifeq ($(MODE),asan)
CFLAGS_MODE := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS_MODE := -fsanitize=address,undefined
else ifeq ($(MODE),debug)
CFLAGS_MODE := -O0 -g
else
CFLAGS_MODE := -O2 -g
endif
ALL_CFLAGS := $(CFLAGS_COMMON) $(CFLAGS_MODE) $(CFLAGS)
ALL_LDFLAGS := $(LDFLAGS_MODE) $(LDFLAGS)

LIB_SRCS := $(filter-out src/main.c,$(wildcard src/*.c src/sim/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
MAIN_OBJ := $(BUILD)/src/main.o
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
REPLAY_BINS := $(FUZZ_SRCS:tests/fuzz/fuzz_%.c=$(BUILD)/tests/replay_%)
BIN := $(BUILD)/llmload

ifeq ($(V),1)
Q :=
else
Q := @
endif

.PHONY: all test asan fuzz demo bench install clean deps check-deps tests-build style valgrind \
	container-deps container-image container-test

all: $(BIN)
ifeq ($(MODE),release)
	@ln -sf $(BIN) llmload
endif

$(BIN): $(MAIN_OBJ) $(BUILD)/libllmload.a
	@echo "  LINK  $@"
	$(Q)$(CC) -o $@ $^ $(ALL_LDFLAGS) $(PKG_LIBS)

$(BUILD)/libllmload.a: $(LIB_OBJS)
	@echo "  AR    $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/src/version.o: ALL_CFLAGS += -DLLMLOAD_VERSION='"$(BASE_VERSION)"' -DLLMLOAD_GIT='"$(VERSION)"'
# version.o is rebuilt when `git describe` changes: the stamp file is rewritten only then.
VERSION_STAMP := $(BUILD)/version.stamp
$(shell mkdir -p $(BUILD) && (test "$$(cat $(VERSION_STAMP) 2>/dev/null)" = "$(VERSION)" || echo "$(VERSION)" > $(VERSION_STAMP)))
$(BUILD)/src/version.o: $(VERSION_STAMP)

# report.html inlines uPlot and the page's own script and style; they become a generated header.
HTML_ASSETS := uplot_js=third_party/uplot/uPlot.iife.min.js uplot_css=third_party/uplot/uPlot.min.css \
	page_js=src/report_html.js page_css=src/report_html.css compare_js=src/compare_html.js
$(BUILD)/gen/html_assets.h: scripts/embed-assets.py $(foreach a,$(HTML_ASSETS),$(word 2,$(subst =, ,$(a))))
	@mkdir -p $(dir $@)
	@echo "  GEN   $@"
	$(Q)$(PYTHON) scripts/embed-assets.py $@ $(HTML_ASSETS)
$(BUILD)/src/report_html.o: $(BUILD)/gen/html_assets.h
$(BUILD)/src/report_html.o: ALL_CFLAGS += -I$(BUILD)/gen
$(BUILD)/src/compare_html.o: $(BUILD)/gen/html_assets.h
$(BUILD)/src/compare_html.o: ALL_CFLAGS += -I$(BUILD)/gen
# Synthetic prompts are windows of a public-domain novel (data/corpus/README.md), compiled in flat
# (its words joined by single spaces).
$(BUILD)/gen/corpus_flat.txt: scripts/flatten-text.py data/corpus/persuasion.txt
	@mkdir -p $(dir $@)
	$(Q)$(PYTHON) scripts/flatten-text.py data/corpus/persuasion.txt $@
$(BUILD)/gen/corpus_text.h: scripts/embed-assets.py $(BUILD)/gen/corpus_flat.txt
	@echo "  GEN   $@"
	$(Q)$(PYTHON) scripts/embed-assets.py $@ corpus_flat=$(BUILD)/gen/corpus_flat.txt
$(BUILD)/src/corpus.o: $(BUILD)/gen/corpus_text.h
$(BUILD)/src/corpus.o: ALL_CFLAGS += -I$(BUILD)/gen

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/test_%: tests/unit/test_%.c $(BUILD)/libllmload.a
	@mkdir -p $(dir $@)
	@echo "  TEST  $@"
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libllmload.a $(ALL_LDFLAGS) $(PKG_LIBS) $(CMOCKA_LIBS)

# gcc-built replay of each fuzz target over its committed corpus, so `make test` runs the corpus.
$(BUILD)/tests/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay_main.c $(BUILD)/libllmload.a
	@mkdir -p $(dir $@)
	@echo "  FUZZR $@"
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< tests/fuzz/replay_main.c $(BUILD)/libllmload.a $(ALL_LDFLAGS) $(PKG_LIBS)

tests-build: $(BIN) $(UNIT_BINS) $(REPLAY_BINS)

check-deps:
	@scripts/install-deps.sh --check >/dev/null 2>&1 || scripts/install-deps.sh

deps:
	scripts/install-deps.sh

# The full suite: the release and sanitizer builds side by side (scripts/run-tests.sh); one closing `N passed, N failed` line.
test: check-deps
	@$(MAKE) --no-print-directory all tests-build
	@$(MAKE) --no-print-directory MODE=asan tests-build
	@scripts/run-tests.sh build/release build/asan

asan: check-deps
	@$(MAKE) --no-print-directory MODE=asan tests-build
	@scripts/run-tests.sh build/asan

FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -Iinclude -I$(BUILD)/gen $(PKG_CFLAGS) -g -O1 -fsanitize=fuzzer,address,undefined
fuzz: check-deps $(BUILD)/gen/html_assets.h $(BUILD)/gen/corpus_text.h
	@mkdir -p build/fuzz
	@for f in $(FUZZ_SRCS); do \
	  n=$$(basename $$f .c | sed 's/^fuzz_//'); \
	  echo "  FUZZ  $$n ($(FUZZ_SECONDS) s)"; \
	  clang $(FUZZ_CFLAGS) -o build/fuzz/$$n $$f $$(ls $(LIB_SRCS)) $(PKG_LIBS) || exit 1; \
	  mkdir -p build/fuzz/corpus-$$n; \
	  dict=""; [ -f tests/fuzz/$$n.dict ] && dict="-dict=tests/fuzz/$$n.dict"; \
	  build/fuzz/$$n -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 $$dict \
	    -artifact_prefix=build/fuzz/$$n- build/fuzz/corpus-$$n tests/fuzz/corpus/$$n >build/fuzz/$$n.log 2>&1 \
	    || { tail -n 30 build/fuzz/$$n.log; echo "fuzz target $$n found a crash"; exit 1; }; \
	  grep -E '^(#[0-9]+|Done)' build/fuzz/$$n.log | tail -n 1; \
	done

# Not part of `make test` (too slow): no leaks and no memcheck errors in the client, end to end.
valgrind:
	@$(MAKE) --no-print-directory MODE=release all
	@scripts/valgrind.sh build/release

demo: check-deps all
	@scripts/demo.sh

bench: check-deps all
	@scripts/bench/run.sh

# Not part of `make test` (it needs podman, node and npm): .ci/run runs it after `make test`.
container-deps:
	@scripts/install-deps.sh --container --check >/dev/null 2>&1 || scripts/install-deps.sh --container
	@cd tests/container && npm ci --no-audit --no-fund --loglevel=error

container-image: container-deps
	@scripts/container-build.sh

container-test: container-deps
	@$(MAKE) --no-print-directory MODE=release all
	@LLMLOAD_BIN=$(CURDIR)/build/release/llmload $(PYTHON) tests/container/test_container.py
	@LLMLOAD_BIN=$(CURDIR)/build/release/llmload $(PYTHON) tests/container/test_shards.py

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/llmload/profiles
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/llmload
	install -m 644 profiles/*.json $(DESTDIR)$(PREFIX)/share/llmload/profiles/

style:
	@scripts/check-style.sh

clean:
	rm -rf build llmload

-include $(shell find build/$(MODE) -name '*.d' 2>/dev/null)
