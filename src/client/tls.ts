/**
 * The `fetch` that honours `--verify-ssl` / `--no-verify-ssl`.
 * @module
 */
import type { Logger } from "../log.ts";
import type { Runtime, TlsOptions } from "../runtime/mod.ts";

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
