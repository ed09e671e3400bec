package dev.flinkts.jsprobe;

import java.io.File;
import org.graalvm.polyglot.Context;
import org.graalvm.polyglot.HostAccess;
import org.graalvm.polyglot.PolyglotException;
import org.graalvm.polyglot.Source;
import org.graalvm.polyglot.Value;
import org.graalvm.polyglot.proxy.ProxyExecutable;

/**
 * Runs bench/js-engines/apiChecks.ts (bundled) in a GraalJS Context configured as an operator would have it
 * (no file system, no host class lookup): each check returns a string or a promise of one, or throws.
 * Prints {"name": {"ok": true, "value": "..."} | {"ok": false, "error": "..."}}.
 */
final class ApiChecks {
  private ApiChecks() {}

  static String run(File bundle) throws Exception {
    StringBuilder json = new StringBuilder("{");
    try (Context context = Context.newBuilder("js").engine(GraalEngine.SHARED)
        .allowHostAccess(HostAccess.newBuilder().allowArrayAccess(true).build()).build()) {
      context.eval(Source.newBuilder("js", bundle).build());
      Value checks = context.getBindings("js").getMember("apiChecks");
      boolean first = true;
      for (String name : checks.getMemberKeys()) {
        String[] settled = new String[2];
        try {
          Value r = checks.getMember(name).execute();
          if (r.canInvokeMember("then")) {
            r.invokeMember("then",
                (ProxyExecutable) a -> { settled[0] = a[0].isString() ? a[0].asString() : a[0].toString(); return null; },
                (ProxyExecutable) a -> { settled[1] = a[0].toString(); return null; });
            context.eval("js", "0"); // a host call returning runs the queued promise jobs
            if (settled[0] == null && settled[1] == null) settled[1] = "the promise never settled (no event loop)";
          } else {
            settled[0] = r.asString();
          }
        } catch (PolyglotException e) {
          settled[1] = e.getMessage();
        }
        json.append(first ? "" : ",").append(quote(name)).append(settled[0] != null
            ? ":{\"ok\":true,\"value\":" + quote(settled[0]) + "}"
            : ":{\"ok\":false,\"error\":" + quote(settled[1]) + "}");
        first = false;
      }
    }
    return json.append("}").toString();
  }

  static String quote(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') b.append('\\').append(c);
      else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
      else b.append(c);
    }
    return b.append('"').toString();
  }
}
