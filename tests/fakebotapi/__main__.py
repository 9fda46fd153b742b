"""Serve the fake Bot API on its own: ``python -m tests.fakebotapi --port 8081``.

A bot points its base_url at ``http://127.0.0.1:PORT/bot``; another process plays users
with ``POST /_test/users/{user_id}/{action}`` (JSON body = the FakeUser method's keyword
arguments, e.g. ``send {"text": "/start"}``, ``next_reply {"timeout": 5}``, ``click``).
"""

import argparse
import asyncio
import contextlib

from tests.fakebotapi.server import FakeBotApi


async def _serve(port: int) -> None:
    async with FakeBotApi(port=port) as api:
        print(f"fake Bot API: base_url={api.base_url}", flush=True)
        await asyncio.Event().wait()  # until Ctrl-C


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8081)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(parser.parse_args().port))


if __name__ == "__main__":
    main()
