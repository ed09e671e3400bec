import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/**
 * What the REST endpoint checks before routing, so that a web page in the user's browser cannot drive it:
 *
 * - Host header (DNS rebinding): a page on evil.example whose name is made to resolve to 127.0.0.1 sends
 *   `Host: evil.example`. Accepted are IP literals (a rebinding needs a name), `localhost` and its
 *   subdomains, and the configured names (rest.address). A request without a Host header is refused too
 *   (400): HTTP/1.1 requires one (RFC 9112 §3.2, and Node already answers 400 for 1.1), every client sends
 *   it (browsers, curl, the CLI), and an HTTP/1.0 request without it would otherwise pass unchecked.
 * - Origin header: browsers send it on cross-origin requests; anything but our own origin (http, since the
 *   endpoint serves plain HTTP) is refused.
 *   The CLI and curl send none.
 * - Bearer token: required when rest.auth.token is set, compared in constant time.
 */
export interface Refusal {
  status: number;
  message: string;
  headers?: Record<string, string>;
}

export class RequestGuard {
  private readonly token: Buffer | undefined;
  private readonly names: Set<string>;

  constructor(token: string | undefined, allowedHosts: string[]) {
    this.token = token ? Buffer.from(token, 'utf8') : undefined;
    this.names = new Set(allowedHosts.map((h) => h.toLowerCase()).filter(Boolean));
  }

  check(req: IncomingMessage): Refusal | undefined {
    return this.checkHostAndOrigin(req) ?? this.checkToken(req);
  }

  /** The Host and Origin checks alone: what the dashboard page's static files need (they hold no data). */
  checkHostAndOrigin(req: IncomingMessage): Refusal | undefined {
    const host = req.headers.host;
    if (host === undefined) {
      return { status: 400, message: 'Missing Host header: the REST endpoint answers only requests that name the host they are addressed to.' };
    }
    if (!this.hostAllowed(host)) {
      return { status: 403, message: `Host '${host}' is not allowed: the REST endpoint answers only requests addressed to it by IP address, localhost or rest.address.` };
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !this.sameOrigin(origin, host)) {
      return { status: 403, message: `Cross-origin requests are not allowed (Origin '${origin}').` };
    }
    return undefined;
  }

  checkToken(req: IncomingMessage): Refusal | undefined {
    if (this.token) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
      const given = m ? Buffer.from(m[1]!, 'utf8') : undefined;
      if (!given || given.length !== this.token.length || !timingSafeEqual(given, this.token)) {
        return {
          status: 401,
          message: given ? 'Invalid REST token (rest.auth.token).' : 'This REST endpoint requires a token: send "Authorization: Bearer <rest.auth.token>".',
          headers: { 'WWW-Authenticate': 'Bearer' },
        };
      }
    }
    return undefined;
  }

  private hostAllowed(hostHeader: string): boolean {
    const name = hostName(hostHeader);
    if (name === undefined) return false;
    if (isIP(name) !== 0) return true;
    if (name === 'localhost' || name.endsWith('.localhost')) return true;
    return this.names.has(name);
  }

  private sameOrigin(origin: string, host: string): boolean {
    try {
      const u = new URL(origin);
      return u.protocol === 'http:' && u.host.toLowerCase() === host.toLowerCase();
    } catch {
      return false; // includes the opaque origin "null"
    }
  }
}

/** The host name of a Host header (`name`, `name:port`, `[v6]:port`), lower-cased; undefined when malformed. */
function hostName(h: string): string | undefined {
  const v = h.trim().toLowerCase();
  const m = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/.exec(v) ?? /^([^:\s/@]+)(?::\d{1,5})?$/.exec(v);
  return m ? m[1] : undefined;
}
