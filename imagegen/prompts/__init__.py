"""From a post to an image prompt.

`text` makes the prompt from the post itself (or a `--prompt-template`) and decides between the
cached prompt, the describer's and its own (`prompt_for`); `describer` asks a Gemini text model for
a prompt and the cover's alt text, with model fallback.
"""

from imagegen.prompts.describer import (DESCRIBER_TIMEOUT, FALLBACKS, MAX_RATE_LIMIT_WAIT, RESPONSE_SCHEMA, STATE_KEY,
                                        SYSTEM_INSTRUCTION, Describer, fallback_models, make_describer, parse_answer)
from imagegen.prompts.text import (ALT_MAX_CHARS, MAX_POST_CHARS, PREFIX, TEMPLATE_FIELDS, Described, DescriberFailed,
                                   PostLike, alt_from, clean_description, cut, describer_text, post_fields, prompt_for,
                                   sanitize, styled, text_prompt)

__all__ = ["ALT_MAX_CHARS", "DESCRIBER_TIMEOUT", "FALLBACKS", "MAX_POST_CHARS", "MAX_RATE_LIMIT_WAIT", "PREFIX",
           "RESPONSE_SCHEMA", "STATE_KEY", "SYSTEM_INSTRUCTION", "TEMPLATE_FIELDS", "Described", "Describer",
           "DescriberFailed", "PostLike", "alt_from", "clean_description", "cut", "describer_text", "fallback_models",
           "make_describer", "parse_answer", "post_fields", "prompt_for", "sanitize", "styled", "text_prompt"]
