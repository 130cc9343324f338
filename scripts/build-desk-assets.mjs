// Builds the desk's stylesheet from node_modules (npm run build): GOV.UK Frontend's Sass with
// our settings (tracker/desk/assets/desk.scss) to build/desk/desk.css. Nothing built is
// committed: scripts/test.sh and scripts/demo.sh run `npm ci && npm run build`.
import { mkdirSync, writeFileSync } from "node:fs";
import { compile } from "sass";

const out = "build/desk";
mkdirSync(out, { recursive: true });
const result = compile("tracker/desk/assets/desk.scss", {
  loadPaths: ["node_modules"],
  style: "compressed",
  quietDeps: true,
  silenceDeprecations: ["import"],
});
writeFileSync(`${out}/desk.css`, result.css);
console.log(`build-desk-assets: ${out}/desk.css (${result.css.length} bytes)`);
