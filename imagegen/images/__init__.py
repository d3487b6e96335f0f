"""Image bytes: checked when they arrive (`check`), finished before they are written (`finish`),
and the title text set over a picture (`overlay`). Below the providers: nothing here imports them.
"""

from imagegen.errors import FinishError
from imagegen.images.check import (DECODE_BUDGET, IMAGE_EXTENSIONS, MAX_PIXELS, GeneratedImage, ImageError,
                                   checked_image, decoding, describe_non_image, sniff)
from imagegen.images.finish import (CROPS, DEFAULT_QUALITY, FORMATS, Output, crop_box, encode, finish,
                                    format_supported, smart_offset)

__all__ = ["CROPS", "DECODE_BUDGET", "DEFAULT_QUALITY", "FORMATS", "IMAGE_EXTENSIONS", "MAX_PIXELS", "FinishError",
           "GeneratedImage", "ImageError", "Output", "checked_image", "crop_box", "decoding", "describe_non_image",
           "encode", "finish", "format_supported", "smart_offset", "sniff"]
