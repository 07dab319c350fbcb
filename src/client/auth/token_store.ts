/**
 * The OAuth token file: per remote URL, per authorization server (issuer), the client
 * registration and the tokens. Written atomically with mode 0600. Every change is a
 * read-modify-write under a lock file beside it (`oauth.json.lock`), re-reading the file once
 * the lock is held, so that several proxies sharing the file (signed in to different remotes,
 * each under its own sign-in lock) do not undo each other's writes.
 * @module
 */
import { dirname } from "node:path";
import type { OAuth } from "../../deps.ts";
import { runtime } from "../../runtime/mod.ts";
import { acquireSignInLock } from "./sign_in_lock.ts";

/** How often a proxy waiting to change the token file looks at its lock again: held for ms. */
const WRITE_LOCK_POLL_MS = 5;

/** What is kept for one authorization server of one remote. */
export interface IssuerRecord {
  /** The registration (dynamic, or from a client metadata document). */
  client?: OAuth.StoredOAuthClientInformation;
  /** The tokens issued last: access token, refresh token, lifetime. */
  tokens?: OAuth.StoredOAuthTokens;
  /** When `tokens` were saved (ms since the epoch): with `expires_in`, their expiry. */
  tokensSavedAt?: number;
}

/** What is kept for one remote URL. */
export interface RemoteRecord {
  /** The issuer whose tokens were saved last: the ones requests carry. */
  currentIssuer?: string;
  /** The loopback callback port used last, tried first so a registration's redirect URI holds. */
  callbackPort?: number;
  /** What is kept for each authorization server, by issuer. */
  issuers: Record<string, IssuerRecord>;
}

interface TokenFileContent {
  version: 1;
  remotes: Record<string, RemoteRecord>;
}

/** The token file; every method reads it afresh. */
export class TokenStore {
  /** The token file's path. */
  readonly path: string;

  /** The store in the file at `path`; nothing is read before a method is called. */
  constructor(path: string) {
    this.path = path;
  }

  /** The record for `remote`, empty when there is none. */
  async read(remote: string): Promise<RemoteRecord> {
    return (await this.#load()).remotes[remote] ?? { issuers: {} };
  }

  /** Applies `change` to the record for `remote` and writes the file. */
  update(remote: string, change: (record: RemoteRecord) => void): Promise<RemoteRecord> {
    return this.#locked(async () => {
      const content = await this.#load();
      const record = content.remotes[remote] ?? { issuers: {} };
      change(record);
      content.remotes[remote] = record;
      await this.#save(content);
      return record;
    });
  }

  /** Forgets everything stored for `remote`; resolves to whether there was anything. */
  remove(remote: string): Promise<boolean> {
    return this.#locked(async () => {
      const content = await this.#load();
      if (!(remote in content.remotes)) return false;
      delete content.remotes[remote];
      await this.#save(content);
      return true;
    });
  }

  /** Runs `change` (a read-modify-write of the file) holding the file's lock. */
  async #locked<T>(change: () => Promise<T>): Promise<T> {
    const lock = await acquireSignInLock(`${this.path}.lock`, () => {}, WRITE_LOCK_POLL_MS);
    try {
      return await change();
    } finally {
      await lock.release();
    }
  }

  async #load(): Promise<TokenFileContent> {
    let text: string;
    try {
      text = await runtime.readTextFile(this.path);
    } catch (error) {
      if ((error as Error).name === "NotFound") return { version: 1, remotes: {} };
      throw error;
    }
    try {
      const parsed = JSON.parse(text);
      if (parsed?.version === 1 && typeof parsed.remotes === "object") return parsed;
    } catch {
      // A damaged file is replaced: the worst outcome is one more sign-in.
    }
    return { version: 1, remotes: {} };
  }

  async #save(content: TokenFileContent): Promise<void> {
    await runtime.makeDirectory(dirname(this.path), 0o700);
    // A unique temporary name, then rename: readers never see half a file.
    const temporary = `${this.path}.${crypto.randomUUID()}.tmp`;
    await runtime.writeTextFile(temporary, JSON.stringify(content, null, 2) + "\n", {
      mode: 0o600,
    });
    await runtime.rename(temporary, this.path);
  }
}
