// Writes ../datasette/static/sql-editor.LICENSES.txt: the licences of the packages the
// lockfile installs (a superset of what esbuild bundles into sql-editor.js).
const fs = require("fs");
const path = require("path");

const lock = JSON.parse(fs.readFileSync(path.join(__dirname, "package-lock.json"), "utf8"));
let out = "Third-party code bundled into sql-editor.js (built from frontend/ with esbuild).\n\n";
for (const [dir, info] of Object.entries(lock.packages)) {
  const name = dir.slice("node_modules/".length);
  if (!dir.startsWith("node_modules/") || name === "esbuild" || name.startsWith("@esbuild/")) continue;
  let text = "";
  for (const file of ["LICENSE", "LICENSE.md", "LICENSE.txt", "license"]) {
    try {
      text = fs.readFileSync(path.join(__dirname, dir, file), "utf8");
      break;
    } catch (error) {
      // try the next usual name
    }
  }
  out += `== ${name} ${info.version} (${info.license || "unknown"}) ==\n${text.trim()}\n\n`;
}
fs.writeFileSync(path.join(__dirname, "..", "datasette", "static", "sql-editor.LICENSES.txt"), out);
