"""A real SMTP relay for gridlake-notify's tests (aiosmtpd).

Listens on 127.0.0.1 on a free port, requires STARTTLS before anything else, and requires
AUTH (PLAIN or LOGIN) with the given user and the password in $SMTP_TEST_PASSWORD (an env var,
not an argument, so it is not visible in `ps`). Prints one JSON line {"port": N} to stdout once
it accepts connections, then writes every accepted message to OUT_DIR/<n>.json as
{"mail_from", "rcpt_tos", "subject", "body", "raw"} (written to a temp name and renamed, so a
reader never sees half a file). Runs until stdin closes, so it dies with the test that started it.

usage: smtp_server.py CERT_PEM KEY_PEM USER OUT_DIR
"""

import asyncio
import email
import email.policy
import json
import os
import ssl
import logging
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

# aiosmtpd 1.4 logs a warning about its own use of a deprecated attribute on every AUTH; noise.
logging.getLogger("mail.log").setLevel(logging.ERROR)


class Handler:
    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        body = msg.get_body(preferencelist=("plain",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "subject": str(msg["subject"]),
            # The wire format's CRLF line ends, as a mail client shows them: plain lines.
            "body": body.get_content().replace("\r\n", "\n") if body is not None else "",
            "raw": raw.decode("utf-8", "replace"),
        }
        self.count += 1
        path = os.path.join(self.out_dir, f"{self.count}.json")
        with open(path + ".tmp", "w") as f:
            json.dump(record, f)
        os.rename(path + ".tmp", path)
        return "250 OK"


def main():
    cert, key, user, out_dir = sys.argv[1:5]
    password = os.environ["SMTP_TEST_PASSWORD"]

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode()
            and auth_data.password == password.encode()
        )
        # handled=False: let aiosmtpd answer "535 … credentials invalid" itself (the default,
        # handled=True, means "the authenticator already replied" and leaves the client hanging).
        return AuthResult(success=ok, handled=False)

    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    handler = Handler(out_dir)

    async def serve():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SMTP(
                handler,
                hostname="gridlake-test-relay",
                tls_context=tls,
                require_starttls=True,
                auth_required=True,
                auth_require_tls=True,
                authenticator=authenticator,
            ),
            host="127.0.0.1",
            port=0,
        )
        port = server.sockets[0].getsockname()[1]
        print(json.dumps({"port": port}), flush=True)
        # Stop when the test closes our stdin (or dies).
        await loop.run_in_executor(None, sys.stdin.read)
        server.close()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
