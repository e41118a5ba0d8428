// validate-manifests.mjs - checks Kubernetes manifests offline against the API's own schemas
// (the npm package kubernetes-models, installed in tests/container by `npm ci`; nothing global).
//   node tests/container/validate-manifests.mjs FILE.yaml...
// Prints one line per document: "valid FILE Kind/name" or "invalid FILE Kind/name: reason";
// exits 1 when any document is invalid or of an unknown kind. kustomization.yaml files are not
// API objects: their listed resources must exist beside them.
import { readFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseAllDocuments } from "yaml";

let bad = 0;
for (const file of process.argv.slice(2)) {
  const docs = parseAllDocuments(readFileSync(file, "utf8"));
  for (const d of docs) {
    if (d.errors.length) {
      console.log(`invalid ${file}: YAML: ${d.errors[0].message.split("\n")[0]}`);
      bad++;
      continue;
    }
    const obj = d.toJS();
    if (!obj) continue;
    const label = `${obj.kind}/${obj.metadata?.name ?? "?"}`;
    if (obj.kind === "Kustomization") {
      const missing = (obj.resources ?? []).filter((r) => !existsSync(join(dirname(file), r)));
      if (missing.length) {
        console.log(`invalid ${file} ${label}: missing resources ${missing.join(", ")}`);
        bad++;
      } else console.log(`valid ${file} ${label}`);
      continue;
    }
    const [group, version] = obj.apiVersion?.includes("/") ? obj.apiVersion.split("/") : ["", obj.apiVersion];
    const mod = group ? `kubernetes-models/${group}/${version}/${obj.kind}` : `kubernetes-models/${version}/${obj.kind}`;
    let Model;
    try {
      Model = (await import(mod))[obj.kind];
    } catch {
      console.log(`invalid ${file} ${label}: unknown apiVersion/kind ${obj.apiVersion} ${obj.kind}`);
      bad++;
      continue;
    }
    try {
      new Model(obj).validate();
      console.log(`valid ${file} ${label}`);
    } catch (e) {
      console.log(`invalid ${file} ${label}: ${String(e.message ?? e).split("\n").slice(0, 3).join(" ")}`);
      bad++;
    }
  }
}
process.exit(bad ? 1 : 0);
