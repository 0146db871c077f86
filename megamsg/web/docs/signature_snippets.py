"""How a receiver checks a webhook's Standard Webhooks signature, in the guide's four languages.

Each mirrors megamsg.signing: HMAC-SHA256 over "<webhook-id>.<webhook-timestamp>.<raw body>" with
the base64-decoded part of the "whsec_…" secret, compared with every "v1,…" value of the header.
"""

from megamsg.web.docs.code_examples import CodeExample

SHELL = """\
# Check one delivery by hand: its raw body saved as body.json, two of its headers, your secret.
secret='YOUR_WEBHOOK_SECRET'   # whsec_…
id='WEBHOOK_ID'                # the webhook-id header
timestamp='WEBHOOK_TIMESTAMP'  # the webhook-timestamp header
key=$(printf '%s' "${secret#whsec_}" | base64 -d | od -An -v -tx1 | tr -d ' \\n')
{ printf '%s.%s.' "$id" "$timestamp"; cat body.json; } \\
  | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key" -binary | base64 | sed 's/^/v1,/'
# The output must be one of the space-separated values of the webhook-signature header.
"""

PHP = """\
use Illuminate\\Http\\Request;

function verifyWebhook(Request $request, string $secret, int $tolerance = 300): bool
{
    $id = (string) $request->header('webhook-id');
    $timestamp = (string) $request->header('webhook-timestamp');
    if (abs(time() - (int) $timestamp) > $tolerance) {
        return false; // too old or from the future: a replay
    }
    $key = base64_decode(preg_replace('/^whsec_/', '', $secret));
    $signed = $id . '.' . $timestamp . '.' . $request->getContent();
    $expected = 'v1,' . base64_encode(hash_hmac('sha256', $signed, $key, true));
    foreach (explode(' ', (string) $request->header('webhook-signature')) as $signature) {
        if (hash_equals($expected, $signature)) {
            return true;
        }
    }
    return false;
}

// In your controller: abort_unless(verifyWebhook($request, config('services.megamsg.webhook_secret')), 401);
"""

JAVASCRIPT = """\
import crypto from "node:crypto";

// headers: the request's headers (lower-case names, as Node gives them); body: the raw body.
function verifyWebhook(secret, headers, body, toleranceSeconds = 300) {
  const id = headers["webhook-id"];
  const timestamp = headers["webhook-timestamp"];
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > toleranceSeconds) {
    return false; // too old or from the future: a replay
  }
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const expected = Buffer.from(
    "v1," + crypto.createHmac("sha256", key).update(`${id}.${timestamp}.`).update(body).digest("base64"),
  );
  return (headers["webhook-signature"] || "").split(" ").some((signature) => {
    const given = Buffer.from(signature);
    return given.length === expected.length && crypto.timingSafeEqual(given, expected);
  });
}

// Express: app.post("/megamsg", express.raw({ type: "application/json" }), (req, res) => {
//   if (!verifyWebhook(process.env.MEGAMSG_WEBHOOK_SECRET, req.headers, req.body)) return res.sendStatus(401);
//   …
// });
"""

PYTHON = """\
import base64
import hashlib
import hmac
import time


def verify_webhook(secret: str, headers, body: bytes, tolerance: int = 300) -> bool:
    \"\"\"True when MegaMsg signed this request (headers: any mapping with the header names).\"\"\"
    msg_id = headers["webhook-id"]
    timestamp = headers["webhook-timestamp"]
    if abs(time.time() - int(timestamp)) > tolerance:
        return False  # too old or from the future: a replay
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(expected, given) for given in headers["webhook-signature"].split())


# Flask: if not verify_webhook(SECRET, request.headers, request.get_data()): abort(401)
"""


def signature_snippets() -> list[CodeExample]:
    """The four snippets as tabs (the first is a shell check with openssl)."""
    return [
        CodeExample("shell", "Shell (openssl)", SHELL.rstrip()),
        CodeExample("php", "PHP (Laravel)", PHP.rstrip()),
        CodeExample("javascript", "JavaScript (Node)", JAVASCRIPT.rstrip()),
        CodeExample("python", "Python", PYTHON.rstrip()),
    ]
