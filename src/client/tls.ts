/**
 * The `fetch` that honours `--verify-ssl` / `--no-verify-ssl`.
 * @module
 */
import { type Logger, urlForLog } from "../io/log.ts";
import type { Runtime, TlsOptions } from "../runtime/mod.ts";
import { describeCause } from "./remote/legacy_session.ts";

/** A TLS option that cannot be honoured; client mode stops at start-up with this message. */
export class TlsSetupError extends Error {
  /** `TlsSetupError`. */
  override name = "TlsSetupError";
}

/**
 * Returns the `fetch` for `verifySsl`: the runtime's default when `true`, one without
 * certificate checks when `false`, one that also trusts the PEM bundle at a path otherwise.
 * Throws {@linkcode TlsSetupError} when the bundle is unreadable or the runtime cannot comply.
 */
export async function fetchForVerifySsl(
  verifySsl: boolean | string,
  runtime: Runtime,
  log: Logger,
): Promise<typeof fetch> {
  if (verifySsl === true) return fetch;
  if (verifySsl === false) {
    log.warning("TLS certificate verification is disabled (--no-verify-ssl).");
    return fetchWithTls(runtime, { insecure: true });
  }
  let pem: string;
  try {
    pem = await runtime.readTextFile(verifySsl);
  } catch (error) {
    throw new TlsSetupError(
      `Cannot read the CA bundle given to --verify-ssl (${verifySsl}): ${(error as Error).message}`,
    );
  }
  // The certificates, without any key or text around them.
  const certificates = pem.match(
    /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g,
  );
  if (!certificates) {
    throw new TlsSetupError(
      `--verify-ssl ${verifySsl}: no PEM certificate (-----BEGIN CERTIFICATE-----) in that file.`,
    );
  }
  log.info(`Trusting ${certificates.length} CA certificate(s) from ${verifySsl}.`);
  return fetchWithTls(runtime, { caCerts: certificates });
}

function fetchWithTls(runtime: Runtime, tls: TlsOptions): typeof fetch {
  try {
    return runtime.fetchWithTls(tls);
  } catch (error) {
    throw new TlsSetupError((error as Error).message);
  }
}

/**
 * How a TLS handshake that got something other than TLS back fails: rustls (Deno) "received
 * corrupt message of type InvalidContentType", Bun "EPROTO: The TLS handshake failed. Does the
 * server speak TLS on this port?" (which Bun also says for a TLS server's refusal, hence the
 * check in {@linkcode plainHttpInsteadOfTls}).
 */
const NOT_TLS = /InvalidContentType|TLS handshake failed/i;

/** Longest wait for the plain HTTP answer that confirms a `https://` URL's port speaks HTTP. */
const PLAIN_HTTP_CHECK_MS = 3_000;

/**
 * When reaching the `https://` URL `url` failed with `error` because its port does not speak
 * TLS, and the same host and port answer plain HTTP, the sentence that tells the user
 * (`… speaks plain HTTP, not TLS: use http://…`); otherwise `undefined`. The check is a bare
 * `HEAD /` without the user's headers or credentials: nothing secret travels unencrypted.
 */
export async function plainHttpInsteadOfTls(
  url: string,
  error: unknown,
): Promise<string | undefined> {
  const secure = new URL(url);
  if (secure.protocol !== "https:" || !NOT_TLS.test(describeCause(error))) return undefined;
  const plain = new URL(url);
  plain.protocol = "http:";
  // The port stays the one that answered, even where https's default (443) was implied.
  plain.port = secure.port || "443";
  try {
    const answer = await fetch(`${plain.origin}/`, {
      method: "HEAD",
      redirect: "manual",
      signal: AbortSignal.timeout(PLAIN_HTTP_CHECK_MS),
    });
    await answer.body?.cancel();
  } catch {
    return undefined;
  }
  return `${plain.host} speaks plain HTTP, not TLS: use ${urlForLog(plain)}`;
}
