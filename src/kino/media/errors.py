"""The media domain's typed errors (storage, uploads, and the rest of the pipeline)."""

from __future__ import annotations

from kino.core.errors import Conflict, KinoError, NotFound


class ObjectNotFound(NotFound):
    code = "object_not_found"

    def __init__(self, key: str) -> None:
        super().__init__(f"There is no stored object at {key!r}.", details={"key": key})
        self.key = key


class InvalidStorageKey(KinoError):
    code = "invalid_storage_key"

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key!r} is not a storage key: {reason}.", details={"key": key})


# tus uploads (/api/v1/uploads)


class UploadNotFound(NotFound):
    code = "upload_not_found"

    def __init__(self) -> None:
        super().__init__("There is no such upload.")


class UploadExpired(KinoError):
    status = 410
    code = "upload_expired"

    def __init__(self) -> None:
        super().__init__("This upload expired before it was finished; start a new one.")


class UploadIncomplete(Conflict):
    code = "upload_incomplete"

    def __init__(self, *, offset: int, length: int) -> None:
        super().__init__(
            f"The upload has {offset} of its {length} bytes; finish it first.",
            details={"offset": offset, "length": length},
        )


class UploadOffsetMismatch(Conflict):
    code = "upload_offset_mismatch"

    def __init__(self, *, expected: int, received: int) -> None:
        super().__init__(
            f"Upload-Offset is {received} but the upload has {expected} bytes; "
            "send a HEAD request and resume from there.",
            details={"offset": expected, "received": received},
        )


class UploadBusy(Conflict):
    code = "upload_busy"

    def __init__(self) -> None:
        super().__init__("Another request is writing to this upload; retry when it is done.")


class UploadTooLarge(KinoError):
    status = 413
    code = "upload_too_large"


class ChecksumMismatch(KinoError):
    status = 460  # tus checksum extension: "Checksum Mismatch"
    code = "checksum_mismatch"

    def __init__(self, algorithm: str) -> None:
        super().__init__(
            f"The chunk's {algorithm} checksum does not match; it was discarded, send it again.",
            details={"algorithm": algorithm},
        )


class UnsupportedChecksum(KinoError):
    code = "unsupported_checksum_algorithm"


class InvalidUploadRequest(KinoError):
    code = "invalid_upload_request"


class UnsupportedTusVersion(KinoError):
    status = 412
    code = "unsupported_tus_version"

    def __init__(self, version: str) -> None:
        super().__init__(
            f"Send Tus-Resumable: {version}; it is the only tus version served here.",
            details={"supported": [version]},
        )
        self.headers = {"Tus-Version": version}


class UnsupportedUploadContent(KinoError):
    status = 415
    code = "unsupported_media_type"


# probing and transcoding


class UnsupportedMedia(KinoError):
    """The file is not a video Kino can play: not a video at all, no video stream, no
    duration, truncated, undecodable, or of absurd size. The message says which, for people."""

    status = 422
    code = "unsupported_media"


# subtitles


class InvalidSubtitles(KinoError):
    status = 422
    code = "invalid_subtitles"
