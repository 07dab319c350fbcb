/**
 * Every third-party import of the program, pinned to exact versions in one place.
 *
 * Full `npm:` specifiers (no import map) so that `deno run <url>/main.ts` resolves them too.
 * @module
 */

export { ArgumentParser, BooleanOptionalAction, RawTextHelpFormatter } from "npm:argparse@3.0.4";
