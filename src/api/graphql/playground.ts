/**
 * GET /graphql: a query page that needs no outside host. GraphiQL's assets are not among the installed
 * packages (graphql-yoga and Ponder both load them from unpkg.com / a CDN, blank offline), so this is a
 * small self-contained page: query and variables editors, Run (Ctrl+Enter), the answer, and a schema
 * browser with every type's fields, arguments and descriptions from introspection.
 */
export const PLAYGROUND_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>OpenLedger GraphQL</title>
<style>
body{margin:0;font:14px system-ui,sans-serif;display:grid;grid-template-columns:1fr 1fr 22rem;height:100vh}
textarea,pre{font:13px ui-monospace,monospace;margin:0;border:0;padding:.6rem;box-sizing:border-box;width:100%}
#left{display:grid;grid-template-rows:auto 3fr auto 1fr;border-right:1px solid #ccc}
#left header{display:flex;gap:.5rem;align-items:center;padding:.4rem .6rem;background:#f4f4f4}
#result{overflow:auto;background:#fafafa;height:100vh}
#docs{overflow:auto;border-left:1px solid #ccc;padding:.4rem .6rem}
#docs details{margin:.2rem 0}#docs small{color:#666;display:block}
label{padding:.2rem .6rem;background:#f4f4f4;font-size:12px}
</style></head><body>
<div id="left"><header><strong>GraphQL</strong><button id="run">Run ▶</button><span id="took"></span></header>
<textarea id="query" spellcheck="false">{
  _meta { chains { chainId block { number hash timestamp } hasIndexingErrors } }
  invoices(limit: 3, orderBy: "invoiceId desc") { items { invoiceId status amount } }
}</textarea>
<label for="variables">Variables (JSON)</label><textarea id="variables" spellcheck="false">{}</textarea></div>
<pre id="result"></pre><div id="docs">Loading schema…</div>
<script>
const $ = (id) => document.getElementById(id);
const saved = localStorage.getItem("openledger-graphql-query");
if (saved) $("query").value = saved;
async function post(query, variables) {
  const response = await fetch(location.pathname, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query, variables }) });
  return response.json();
}
async function run() {
  localStorage.setItem("openledger-graphql-query", $("query").value);
  let variables = {};
  try { variables = JSON.parse($("variables").value || "{}"); } catch (e) { $("result").textContent = "Variables are not JSON: " + e.message; return; }
  const started = performance.now();
  const answer = await post($("query").value, variables).catch((e) => ({ errors: [{ message: String(e) }] }));
  $("took").textContent = Math.round(performance.now() - started) + " ms";
  $("result").textContent = JSON.stringify(answer, null, 2);
}
$("run").onclick = run;
document.addEventListener("keydown", (e) => { if ((e.ctrlKey || e.metaKey) && e.key === "Enter") run(); });
const typeName = (t) => t.kind === "NON_NULL" ? typeName(t.ofType) + "!" : t.kind === "LIST" ? "[" + typeName(t.ofType) + "]" : t.name;
const text = (s) => String(s ?? "").replace(/[&<>]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;" })[c]);
post("{ __schema { queryType { name } types { name kind description fields { name description type { ...T } args { name description type { ...T } } } inputFields { name description type { ...T } } } } } fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }").then((answer) => {
  const types = (answer.data?.__schema.types ?? []).filter((t) => !t.name.startsWith("__"));
  types.sort((a, b) => (a.name === "Query" ? -1 : b.name === "Query" ? 1 : a.name.localeCompare(b.name)));
  $("docs").innerHTML = types.map((t) => "<details><summary><b>" + text(t.name) + "</b></summary><small>" + text(t.description) + "</small>" +
    (t.fields ?? t.inputFields ?? []).map((f) => "<div><code>" + text(f.name) + (f.args?.length ? "(" + f.args.map((a) => text(a.name) + ": " + text(typeName(a.type))).join(", ") + ")" : "") + ": " + text(typeName(f.type)) + "</code><small>" + text(f.description) + "</small></div>").join("") +
    "</details>").join("");
});
</script></body></html>`;
