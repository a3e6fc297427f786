"""Hostile-input checks shared by every upload point: the size limit, the type told by content (never
by the file name or the browser's content type), a bounded look inside zip-based Office files (a zip
bomb is refused before anything inflates it), and images re-encoded to pixels only (metadata and
bytes hidden after the picture are dropped).

Each check raises UploadRefused with a Chinese message that names the file; the upload point turns
it into its own error type (a form error, a RowError, a SpeechInputError)."""

import io
import os
import struct
import zipfile
import zlib
from typing import IO

from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

# A zip bomb is a small file that inflates to gigabytes; real Office files compress about 5–10×.
INFLATE_RATIO = 20
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .doc/.xls and password-protected Office files
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
PDF_MAGIC = b"%PDF-"
# The member that makes a zip an Office file of that kind.
OFFICE_MEMBERS = {"docx": "word/document.xml", "xlsx": "xl/workbook.xml"}
IMAGE_FORMATS = {"JPEG": "jpg", "PNG": "png"}
MAX_PIXELS = 60_000_000  # refused before decoding: a small file can claim a huge canvas


class UploadRefused(ValueError):
    """code says which rule refused the file, for a caller that words that case its own way."""

    def __init__(self, message: str, code: str = ""):
        super().__init__(message)
        self.message = message
        self.code = code


def display_name(value, default: str = "") -> str:
    """The uploader's file name without any folder part, for messages and display only."""
    name = str(getattr(value, "name", value) or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name[:200] or default


def mb(size: int) -> str:
    value = size / (1024 * 1024)
    shown = f"{value:.1f}" if value >= 1 else f"{value:.6f}"  # small test limits stay readable
    return shown.rstrip("0").rstrip(".")


def check_size(size: int, *, limit: int, name: str, what: str = "", advice: str = "") -> None:
    if size > limit:
        raise UploadRefused(
            _("%(what)s“%(name)s”大小为 %(size)s MB，超过上限 %(limit)s MB")
            % {"what": what or _("文件"), "name": name, "size": mb(size), "limit": mb(limit)}
            + advice,
            "too_large",
        )


def read_limited(upload: IO[bytes], *, limit: int, name: str, what: str = "") -> bytes:
    """The upload's bytes, refusing it by its stated size first and never reading past the limit."""
    size = getattr(upload, "size", None)
    if size is not None:
        check_size(size, limit=limit, name=name, what=what)
    upload.seek(0)
    data = upload.read(limit + 1)
    if len(data) > limit:  # the stated size was wrong; the bytes are what count
        raise UploadRefused(
            _("%(what)s“%(name)s”超过大小上限 %(limit)s MB")
            % {"what": what or _("文件"), "name": name, "limit": mb(limit)},
            "too_large",
        )
    return data


def source_size(source: str | os.PathLike | IO[bytes]) -> int:
    if isinstance(source, (str, os.PathLike)):
        return os.stat(source).st_size
    position = source.tell()
    size = source.seek(0, os.SEEK_END)
    source.seek(position)
    return size


def sniff(data: bytes) -> str | None:
    """What the first bytes say the file is: pdf, png, jpg, zip or ole; None for anything else."""
    for kind, magic in (
        ("pdf", PDF_MAGIC),
        ("png", PNG_MAGIC),
        ("jpg", JPEG_MAGIC),
        ("zip", ZIP_MAGIC),
        ("ole", OLE_MAGIC),
    ):
        if data.startswith(magic):
            return kind
    return None


def looks_like_pdf(data: bytes) -> bool:
    # A PDF starts with its header and ends with the %%EOF marker (allowing trailing whitespace).
    return data.startswith(PDF_MAGIC) and b"%%EOF" in data[-1024:]


# --- zip-based Office files -------------------------------------------------------------------


def check_office(
    source: IO[bytes], *, name: str, max_inflated: int, kinds=("docx", "xlsx"), what: str = ""
) -> str:
    """Open a zip without inflating it, refuse encryption, odd compression and any entry that
    inflates past max_inflated in total (by its claim and by actually inflating the stream); return
    the Office kind it is (one of kinds). The source is left at position 0."""
    what = what or _("文件")
    words = {"what": what, "name": name}
    try:
        with zipfile.ZipFile(source) as archive:
            entries = archive.infolist()
            names = {info.filename for info in entries}
            kind = next((k for k in kinds if OFFICE_MEMBERS[k] in names), None)
            if kind is None:
                raise UploadRefused(_("%(what)s“%(name)s”不是 Word 或 Excel 文件") % words, "not_office")
            too_big = UploadRefused(
                _("%(what)s“%(name)s”解压后过大（疑似压缩炸弹），拒绝处理") % words, "zip_bomb"
            )
            if sum(info.file_size for info in entries) > max_inflated:
                raise too_big
            for info in entries:
                if (
                    info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
                    or info.flag_bits & 0x1
                ):
                    raise UploadRefused(
                        _(
                            "%(what)s“%(name)s”使用了不支持的压缩或加密方式，请在 Office 中另存（不设密码）后再上传"
                        )
                        % words
                    )
                if not _inflates_as_claimed(source, info):
                    raise too_big
            return kind
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        OSError,
        EOFError,
        ValueError,
        zlib.error,
        struct.error,
    ) as err:
        if isinstance(err, UploadRefused):
            raise
        raise UploadRefused(_("%(what)s“%(name)s”已损坏，无法打开") % words) from None
    finally:
        source.seek(0)


def _inflates_as_claimed(fp: IO[bytes], info: zipfile.ZipInfo) -> bool:
    """The sizes in the directory are what the archive claims. Inflate the raw stream, a chunk at a
    time, to prove the claim: a stream that goes on past its claimed size is a zip bomb (zipfile
    itself would just truncate or trust it)."""
    if info.compress_type == zipfile.ZIP_STORED:
        return info.compress_size == info.file_size
    fp.seek(info.header_offset)
    header = fp.read(30)
    if header[:4] != ZIP_MAGIC:
        return False
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    fp.seek(info.header_offset + 30 + name_length + extra_length)
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    remaining, produced = info.compress_size, 0
    while not inflater.eof:
        data = inflater.unconsumed_tail
        if not data:
            data = fp.read(min(remaining, 1 << 16)) if remaining > 0 else b""
            if not data:
                break
            remaining -= len(data)
        produced += len(inflater.decompress(data, 1 << 16))
        if produced > info.file_size:
            return False
    return True


# --- images -----------------------------------------------------------------------------------


def open_image(data: bytes, *, refused: str, too_large: str, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode a JPEG or PNG (told by Pillow from its content); the pixel count is checked first."""
    try:
        image = Image.open(io.BytesIO(data))
        if image.format not in IMAGE_FORMATS:
            raise UploadRefused(refused)
        if image.width * image.height > max_pixels:
            raise UploadRefused(too_large)
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        if isinstance(err, UploadRefused):
            raise
        raise UploadRefused(refused) from None
    return image


def reencode(image: Image.Image, *, max_side: int | None = None) -> tuple[bytes, str]:
    """Write the picture again from its pixels, turned upright as the camera meant: no EXIF (place),
    XMP, comment, ICC block or bytes after the image end survive. Returns the bytes and extension."""
    extension = IMAGE_FORMATS[image.format]
    upright = ImageOps.exif_transpose(image)
    if max_side:
        upright.thumbnail((max_side, max_side))
    if extension == "jpg":
        clean = upright.convert("RGB") if upright.mode not in {"RGB", "L"} else upright
    else:
        clean = upright.convert("RGBA") if upright.mode not in {"RGB", "RGBA", "L", "LA"} else upright
    clean.info = {}
    buffer = io.BytesIO()
    if extension == "jpg":
        clean.save(buffer, "JPEG", quality=85, optimize=True)
    else:
        clean.save(buffer, "PNG", optimize=True)
    return buffer.getvalue(), extension
