// Headless check of the browser build: boot Pyodide from node_modules, install the wheels
// that `npm run build` put in dist/ (no network), and drive the ASGI app in-process through
// lite/src/datasette_lite.py, the same module the service worker uses.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadPyodide } from "pyodide";

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.resolve(here, "..", "dist");
let py;
let lite;

async function request(method, url, { headers = {}, body = null } = {}) {
  const encoded = body === null ? new Uint8Array() : new TextEncoder().encode(body);
  const result = await lite.handle(method, url, Object.entries(headers), encoded);
  const [status, outHeaders, bytes] = result.toJs();
  result.destroy();
  const text = new TextDecoder().decode(bytes);
  return { status, headers: Object.fromEntries(outHeaders.map(([k, v]) => [k.toLowerCase(), v])), text };
}

async function json(method, url, options) {
  const response = await request(method, url, options);
  return { ...response, data: JSON.parse(response.text) };
}

async function boot() {
  assert.ok(fs.existsSync(path.join(dist, "wheels.json")), "run `npm --prefix lite run build` first");
  const started = performance.now();
  py = await loadPyodide();
  const bootMs = performance.now() - started;
  const { wheels } = JSON.parse(fs.readFileSync(path.join(dist, "wheels.json"), "utf8"));
  for (const name of wheels) {
    py.unpackArchive(new Uint8Array(fs.readFileSync(path.join(dist, "wheels", name))), "wheel");
  }
  // Bytecode compiled at build time (compile-pyc.mjs): imports skip compiling the sources.
  py.unpackArchive(new Uint8Array(fs.readFileSync(path.join(dist, "pycache.zip"))), "zip");
  py.FS.writeFile("/home/pyodide/datasette_lite.py", fs.readFileSync(path.join(dist, "datasette_lite.py")));
  const importStarted = performance.now();
  py.runPython("import datasette.app");
  const importMs = performance.now() - importStarted;
  lite = py.pyimport("datasette_lite");
  const facts = lite.boot("/home/pyodide/data", "/", true).toJs({ dict_converter: Object.fromEntries });
  console.log(`# pyodide boot ${bootMs.toFixed(0)} ms, import datasette.app ${importMs.toFixed(0)} ms, ` +
    `Datasette() ${facts.boot_ms} ms, databases: ${facts.databases.join(", ")}`);
}

// A tiny runner rather than node:test: the instance's background tasks (timers on Pyodide's
// event loop) keep Node alive, so the script must end itself after printing the tally.
const tests = [];
function test(name, fn) {
  tests.push([name, fn]);
}

async function main() {
  let passed = 0;
  let failed = 0;
  try {
    await boot();
  } catch (error) {
    console.log(`not ok 0 - boot\n${error.stack}`);
    console.log(`0 passed, ${tests.length} failed`);
    process.exit(1);
  }
  for (const [index, [name, fn]] of tests.entries()) {
    try {
      await fn();
      passed += 1;
      console.log(`ok ${index + 1} - ${name}`);
    } catch (error) {
      failed += 1;
      console.log(`not ok ${index + 1} - ${name}\n${error.stack}`);
    }
  }
  lite.shutdown();
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

test("/-/versions.json answers from Python under Pyodide", async () => {
  const { status, data } = await json("GET", "/-/versions.json");
  assert.equal(status, 200);
  assert.equal(data.datasette.version, "1.0a7");
  assert.match(data.python.version, /^3\.\d+/);
  assert.ok(data.sqlite.version);
});

test("MarkupSafe and PyYAML run on their pure-Python code", async () => {
  const result = py.runPython(`
import markupsafe, yaml
from markupsafe import _native
[str(markupsafe.escape("<b>&")), yaml.safe_load("a: [1, 2]")["a"][1], markupsafe._escape_inner is _native._escape_inner]
`).toJs();
  assert.deepEqual(result, ["&lt;b&gt;&amp;", 2, true]);
});

test("no thread was started: reads and writes run inline", async () => {
  const { data } = await json("GET", "/-/threads.json");
  assert.equal(data.num_threads, 0);
});

test("the demo table as JSON", async () => {
  const { status, data } = await json("GET", "/demo/branches.json?_shape=objects&_size=3");
  assert.equal(status, 200);
  assert.equal(data.rows.length, 3);
  assert.ok("name" in data.rows[0]);
});

test("a SQL query", async () => {
  const sql = encodeURIComponent("select count(*) as n from books where year > 0");
  const { status, data } = await json("GET", `/demo.json?sql=${sql}&_shape=array`);
  assert.equal(status, 200);
  assert.ok(data[0].n > 0);
});

test("a row page renders HTML", async () => {
  const { status, headers, text } = await request("GET", "/demo/branches/1");
  assert.equal(status, 200);
  assert.match(headers["content-type"], /text\/html/);
  assert.match(text, /<table/);
  assert.doesNotMatch(headers["content-encoding"] || "", /gzip/);
});

test("sign in, insert through the write API, then read it back", async () => {
  const login = await request("GET", lite.root_login_path());
  assert.equal(login.status, 302);
  assert.ok(!("set-cookie" in login.headers), "Set-Cookie is kept by the worker's jar");
  assert.ok(lite.cookies().toJs({ dict_converter: Object.fromEntries }).ds_actor);
  const headers = { "content-type": "application/json" };
  const created = await json("POST", "/demo/-/create", {
    headers,
    body: JSON.stringify({ table: "jottings", pk: "id", rows: [{ id: 1, note: "first" }] }),
  });
  assert.equal(created.status, 201, created.text);
  const inserted = await json("POST", "/demo/jottings/-/insert", {
    headers,
    body: JSON.stringify({ row: { id: 2, note: "written in the browser build" } }),
  });
  assert.equal(inserted.status, 201, inserted.text);
  const read = await json("GET", "/demo/jottings.json?_shape=array");
  assert.deepEqual(read.data.map((r) => r.note), ["first", "written in the browser build"]);
});

test("a CSV becomes a table", async () => {
  const route = await lite.add_csv("People.csv", "name,city\nAda,London\nGrace,Arlington\n");
  assert.equal(route, "/uploads/People");
  const { data } = await json("GET", "/uploads/People.json?_shape=array");
  assert.deepEqual(data.map((r) => r.city), ["London", "Arlington"]);
});

main();
