"""Files, uploaded as slack_sdk's ``files_upload_v2`` does: ``files.getUploadURLExternal``, a
POST of the bytes to the URL it gave, then ``files.completeUploadExternal`` to share them
(https://docs.slack.dev/messaging/working-with-files#uploading_files).
"""

from __future__ import annotations

from typing import Any

from bot.demo.fake_slack.methods.base import ApiError


class FilesMethods:
    """Web API methods on files, and the upload URL's answer."""

    def _m_files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        self._require(args, "filename", "length")
        try:
            length = int(args["length"])
        except (TypeError, ValueError):
            raise ApiError("invalid_arguments") from None
        fid = f"F0CAD{next(self._ids):06d}"
        self._files[fid] = {
            "filename": str(args["filename"]),
            "length": length,
            "data": None,
            "channel": None,
            "title": None,
        }
        return {"upload_url": f"{self.root_url}/upload/{fid}", "file_id": fid}

    def _m_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        files = args.get("files")
        if not isinstance(files, list) or not files:
            raise ApiError("invalid_arguments")
        channel = args.get("channel_id")
        channels = args.get("channels")
        if not channel and channels:
            channel = channels[0] if isinstance(channels, list) else str(channels).split(",")[0]
        if channel:
            channel = self._resolve_post_channel(str(channel))
        out = []
        for item in files:
            fid = item.get("id") if isinstance(item, dict) else None
            f = self._files.get(str(fid))
            if f is None or f["data"] is None:
                raise ApiError("file_not_found")
            f["title"] = item.get("title") or f["filename"]
            f["channel"] = channel
            out.append(
                {
                    "id": fid,
                    "name": f["filename"],
                    "title": f["title"],
                    "size": len(f["data"]),
                    "user": self.bot_user_id,
                    "channels": [channel] if channel else [],
                }
            )
        if channel and args.get("initial_comment"):
            ts = self._new_ts()
            msg = self._message_dict({"text": args["initial_comment"]}, ts, channel)
            msg["_deleted"] = False
            msg["files"] = [o["id"] for o in out]
            self._messages[(channel, ts)] = msg
        return {"files": out}

    def handle_upload(self, file_id: str, data: bytes) -> tuple[int, str]:
        with self._lock:
            f = self._files.get(file_id)
            if f is None:
                return 404, "not_found"
            f["data"] = data
        return 200, f"OK - {len(data)}"
