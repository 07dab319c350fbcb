/**
 * A lock file that lets only one proxy at a time sign in to (or refresh tokens for) a remote:
 * proxies started together wait for the first one's sign-in instead of each opening a browser.
 * The token file's own lock, held while it is rewritten, is one too.
 * @module
 */
import { dirname } from "node:path";
import { runtime } from "../../runtime/mod.ts";

/** A lock older than this is taken to be left behind by a proxy that hung. */
const STALE_AFTER_MS = 10 * 60_000;
/** How often a waiting proxy looks at the lock again. */
const POLL_MS = 200;

/** A held lock; release it exactly once. */
export interface HeldLock {
  /** Deletes the lock file, so that a waiting proxy can take it. */
  release(): Promise<void>;
}

/** Whether the lock at `path` was left by a process that is gone, or is too old to trust. */
async function isStale(path: string): Promise<boolean> {
  try {
    const [text, modifiedAt] = await Promise.all([
      runtime.readTextFile(path),
      runtime.modifiedAt(path),
    ]);
    const pid = Number.parseInt(text, 10);
    if (Date.now() - modifiedAt > STALE_AFTER_MS) return true;
    return Number.isInteger(pid) && pid > 0 && !runtime.processExists(pid);
  } catch {
    // Gone already, or unreadable while being written: not stale, try again.
    return false;
  }
}

/**
 * Takes the lock at `path`, waiting while another live process holds it, looking again every
 * `pollMs`. `onWait` is called once when the lock is found taken.
 */
export async function acquireSignInLock(
  path: string,
  onWait: () => void,
  pollMs = POLL_MS,
): Promise<HeldLock> {
  let waited = false;
  await runtime.makeDirectory(dirname(path), 0o700);
  const remove = () => runtime.removeFile(path).catch(() => {});
  while (true) {
    try {
      await runtime.writeTextFile(path, String(runtime.pid), { mode: 0o600, createNew: true });
      return { release: remove };
    } catch (error) {
      if ((error as Error).name !== "AlreadyExists") throw error;
    }
    if (await isStale(path)) {
      await remove();
      continue;
    }
    if (!waited) onWait();
    waited = true;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
