/**
 * The README against the checkout: every file or folder of the repository it names exists, and
 * every config file it shows is one mcp-proxy starts with.
 */
import assert from "node:assert/strict";
import { ROOT } from "../support/paths.ts";
import { settingsFor } from "../support/settings.ts";

const README = await Deno.readTextFile(`${ROOT}README.md`);

/** What a build or a test run makes: named by the README, absent from a fresh clone. */
const GENERATED = new Set(["dist", ".tools"]);

/** The entries at the checkout's root. */
const ROOT_ENTRIES = new Set(
  (await Array.fromAsync(Deno.readDir(ROOT))).map((entry) => entry.name),
);

/**
 * The repository paths the README names: words of its code spans and relative link targets
 * that start with an entry of the checkout's root (`tests/…`, `.ci/run`, `compose.yaml`). Other
 * paths (`/servers/NAME/sse`, `~/.config`, URLs) are not the repository's.
 */
function repositoryPaths(markdown: string): string[] {
  const words = [
    ...[...markdown.matchAll(/`([^`\n]+)`/g)].flatMap((match) => match[1].split(/\s+/)),
    ...[...markdown.matchAll(/\]\(([^)\s#]+)\)/g)].map((match) => match[1]),
  ];
  const paths = words.filter((word) =>
    /^[\w.-]+(?:\/[\w.-]*)*$/.test(word) && ROOT_ENTRIES.has(word.split("/")[0]) &&
    !GENERATED.has(word.split("/")[0])
  );
  return [...new Set(paths)];
}

Deno.test("every repository path the README names exists", async () => {
  const paths = repositoryPaths(README);
  // The check sees what it should: paths of the layout and a nested test file.
  for (const known of ["tests/e2e/container_test.ts", "src/cli/", ".ci/run", "compose.yaml"]) {
    assert.ok(paths.includes(known), `${known} not found among ${paths.join(", ")}`);
  }
  const missing = [];
  for (const path of paths) {
    if (!await Deno.stat(`${ROOT}${path}`).then(() => true, () => false)) missing.push(path);
  }
  assert.deepEqual(missing, []);
});

Deno.test("a path the README would name wrongly is caught", () => {
  const paths = repositoryPaths("See `tests/container_test.ts` and [the file](src/nowhere.ts).");
  assert.deepEqual(paths, ["tests/container_test.ts", "src/nowhere.ts"]);
});

/** The README's JSON blocks that are named-server config files (they have `mcpServers`). */
function configExamples(markdown: string): string[] {
  return [...markdown.matchAll(/```json\n([^]*?)```/g)].map((match) => match[1])
    .filter((block) => block.includes('"mcpServers"'));
}

Deno.test("every config file the README shows starts mcp-proxy as its README command says", async () => {
  const examples = configExamples(README);
  // The plain file, the gateway's keys, filters, a child per user: at least these four.
  assert.ok(examples.length >= 4, `${examples.length} config examples found`);
  for (const example of examples) {
    const outcome = await settingsFor(
      ["--port", "8080", "--named-server-config", "servers.json"],
      { env: { PATH: "/bin" }, files: { "servers.json": example } },
    );
    assert.equal(outcome.kind, "settings", `${JSON.stringify(outcome)}\n${example}`);
    if (outcome.kind !== "settings" || outcome.settings.mode !== "server") continue;
    // Only the entry the README turns off on purpose is skipped.
    const skipped = outcome.logs.filter((line) => /^(WARNING|ERROR)/.test(line));
    assert.ok(
      skipped.every((line) => /'paused' from config is not enabled/.test(line)),
      `${skipped.join("\n")}\n${example}`,
    );
    const entries = Object.entries(JSON.parse(example).mcpServers as Record<string, object>);
    const enabled = entries.filter(([, entry]) => !("enabled" in entry && !entry.enabled));
    assert.deepEqual(
      outcome.settings.namedServers.map((server) => server.name).sort(),
      enabled.map(([name]) => name).sort(),
    );
  }
});
