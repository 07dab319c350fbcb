/**
 * The README against the checkout: every file or folder of the repository it names exists.
 */
import assert from "node:assert/strict";
import { ROOT } from "../support/paths.ts";

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
