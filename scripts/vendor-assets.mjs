// Copies the browser builds of the npm dependencies into the ui app's static folder, so
// WhiteNoise serves them from our own origin (a self-hosted CRM phones nobody).
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const target = join(root, "src/rapport/ui/static/vendor");
const files = {
  "htmx.org/dist/htmx.min.js": "htmx.min.js",
  "@alpinejs/csp/dist/cdn.min.js": "alpine-csp.min.js",
  "@picocss/pico/css/pico.min.css": "pico.min.css",
  "sortablejs/Sortable.min.js": "sortable.min.js",
  "chart.js/dist/chart.umd.min.js": "chart.umd.min.js",
};
mkdirSync(target, { recursive: true });
for (const [from, to] of Object.entries(files)) {
  copyFileSync(join(root, "node_modules", from), join(target, to));
}
console.log(`vendored ${Object.keys(files).length} assets into ${target}`);
