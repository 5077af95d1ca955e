"""The files v2 flow as slack_sdk drives it: getUploadURLExternal → upload → complete."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from slack_sdk import WebClient
from slack_sdk.web.async_client import AsyncWebClient

from tests.integration.sandbox.world import error_of, read

TIMELINE = "# INC-42 timeline\n\n- 10:02 XID 79 on gpu-node-07\n- 10:05 acknowledged by @alice\n"


def test_upload_v2_shares_the_file_into_the_thread(web_client: WebClient, sandbox_url: str) -> None:
    parent = web_client.chat_postMessage(channel="gpu-alerts", text="INC-42 resolved")
    uploaded = web_client.files_upload_v2(
        channel="C0GPUALERTS",
        thread_ts=parent["ts"],
        content=TIMELINE,
        filename="inc-42-timeline.md",
        title="INC-42 timeline",
        initial_comment="Timeline export",
    )
    file = uploaded["file"]
    assert (file["name"], file["title"], file["filetype"]) == (
        "inc-42-timeline.md",
        "INC-42 timeline",
        "markdown",
    )
    assert file["size"] == len(TIMELINE.encode())
    thread = web_client.conversations_replies(channel="gpu-alerts", ts=parent["ts"])["messages"]
    shared = thread[-1]
    assert (shared["text"], shared["thread_ts"], shared["files"][0]["id"]) == (
        "Timeline export",
        parent["ts"],
        file["id"],
    )
    assert file["id"] in {f["id"] for f in read(sandbox_url, "files")["files"]}
    info = web_client.files_info(file=file["id"])["file"]
    assert info["shares"]["public"]["C0GPUALERTS"][0]["thread_ts"] == parent["ts"]


def test_file_bytes_download_from_the_listed_urls(web_client: WebClient, sandbox_url: str) -> None:
    web_client.files_upload_v2(
        channel="C0GENERAL", content="<script>alert(1)</script>", filename="report.html"
    )
    listed = read(sandbox_url, "files")["files"][0]
    assert listed["completed"] is True
    inline = httpx.get(listed["url_private"])
    assert inline.text == "<script>alert(1)</script>"
    assert inline.headers["content-security-policy"] == "sandbox"
    assert inline.headers["content-type"].startswith("text/html")
    download = httpx.get(listed["url_private_download"])
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.content == b"<script>alert(1)</script>"
    assert httpx.get(f"{sandbox_url}/_sandbox/files/F0NOPE/report.html").status_code == 404


def test_async_client_uploads_too(sandbox_url: str) -> None:
    async def scenario() -> dict[str, Any]:
        client = AsyncWebClient(token="xoxb-integration-token", base_url=f"{sandbox_url}/api/")
        response = await client.files_upload_v2(
            channel="C0GENERAL", content=b"a,b\n1,2\n", filename="timeline.csv"
        )
        return dict(response["file"])

    file = asyncio.run(scenario())
    assert (file["filetype"], file["mimetype"], file["size"]) == ("csv", "text/csv", 8)


def test_upload_without_a_channel_stays_private(web_client: WebClient) -> None:
    file = web_client.files_upload_v2(content="x", filename="private.txt")["file"]
    assert (file["channels"], file["is_public"]) == ([], False)
    assert web_client.conversations_history(channel="general")["messages"] == []


def test_v2_flow_errors(web_client: WebClient, sandbox_url: str) -> None:
    reserved = web_client.files_getUploadURLExternal(filename="a.txt", length=3)
    assert reserved["upload_url"] == f"{sandbox_url}/_sandbox/upload/{reserved['file_id']}"
    not_uploaded = [{"id": reserved["file_id"], "title": "a"}]
    assert (
        error_of(lambda: web_client.files_completeUploadExternal(files=not_uploaded))
        == "file_not_found"
    )
    unknown = [{"id": "F0NOPE"}]
    assert (
        error_of(lambda: web_client.files_completeUploadExternal(files=unknown)) == "file_not_found"
    )
    httpx.post(reserved["upload_url"], content=b"abc").raise_for_status()
    assert (
        error_of(
            lambda: web_client.files_completeUploadExternal(files=not_uploaded, channel_id="C0X")
        )
        == "invalid_channel"
    )
    assert (
        error_of(lambda: web_client.files_getUploadURLExternal(filename="a.txt", length=0))
        == "missing_argument"
    )
    assert (
        error_of(lambda: web_client.api_call("files.completeUploadExternal", params={"files": "x"}))
        == "invalid_arguments"
    )
    assert error_of(lambda: web_client.files_info(file="F0NOPE")) == "file_not_found"
    assert httpx.post(f"{sandbox_url}/_sandbox/upload/F0NOPE", content=b"x").status_code == 404
