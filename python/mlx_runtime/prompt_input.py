"""A request's input as the model sees it: a prompt (text or token ids) or chat messages (with tools,
through the chat template) encoded into token ids; and the `tokenize` and `embed` answers."""

from __future__ import annotations

from typing import List

import mlx.core as mx

from .errors import invalid_param
from .loaded_model import LoadedModel
from .tools import parse_tools, template_messages


def encode_input(lm: LoadedModel, params: dict, *, for_generation: bool) -> List[int]:
    """Token ids for `prompt` (string or list of ids) or `messages` (chat)."""
    tok = lm.tokenizer
    has_prompt = "prompt" in params and params["prompt"] is not None
    has_messages = "messages" in params and params["messages"] is not None
    if has_prompt == has_messages:
        raise invalid_param("prompt", "exactly one of 'prompt' or 'messages' is required")
    if has_prompt:
        prompt = params["prompt"]
        if isinstance(prompt, str):
            if prompt == "":
                raise invalid_param("prompt", "must not be empty")
            add_special = tok.bos_token is None or not prompt.startswith(tok.bos_token)
            ids = list(tok.encode(prompt, add_special_tokens=add_special))
        elif isinstance(prompt, list) and prompt and all(isinstance(t, int) and not isinstance(t, bool) for t in prompt):
            bad = [t for t in prompt if t < 0 or t >= lm.vocab_size]
            if bad:
                raise invalid_param("prompt", f"token id {bad[0]} out of range [0, {lm.vocab_size})")
            ids = list(prompt)
        else:
            raise invalid_param("prompt", "must be a non-empty string or a non-empty list of token ids")
    else:
        messages = params["messages"]
        if not isinstance(messages, list) or not messages:
            raise invalid_param("messages", "must be a non-empty list of {role, content} objects")
        msgs = template_messages(messages)
        tools = parse_tools(params.get("tools"))
        add_gen = params.get("add_generation_prompt", for_generation)
        if tools is None:
            text = tok.apply_chat_template(msgs, add_generation_prompt=bool(add_gen), tokenize=False)
        else:
            text = tok.apply_chat_template(msgs, tools=tools, add_generation_prompt=bool(add_gen), tokenize=False)
        ids = list(tok.encode(text, add_special_tokens=False))
    if not ids:
        raise invalid_param("prompt", "encodes to zero tokens")
    return ids


def tokenize(lm: LoadedModel, params: dict) -> dict:
    if params.get("text") is not None:
        if not isinstance(params["text"], str) or params["text"] == "":
            raise invalid_param("text", "must be a non-empty string")
        if params.get("messages") is not None:
            raise invalid_param("text", "give either 'text' or 'messages', not both")
        params = {"prompt": params["text"]}
    elif params.get("messages") is None:
        raise invalid_param("text", "one of 'text' or 'messages' is required")
    else:
        params = {"messages": params["messages"], "tools": params.get("tools"),
                  "add_generation_prompt": params.get("add_generation_prompt", False)}
    ids = encode_input(lm, params, for_generation=False)
    return {"model": lm.name, "token_ids": ids, "count": len(ids),
            "tokens": [lm.tokenizer.convert_ids_to_tokens(i) for i in ids]}


def embed(lm: LoadedModel, params: dict) -> dict:
    inp = params.get("input")
    if isinstance(inp, str):
        texts = [inp]
    elif isinstance(inp, list) and inp and all(isinstance(s, str) for s in inp):
        texts = inp
    else:
        raise invalid_param("input", "must be a non-empty string or a non-empty list of strings")
    if any(s == "" for s in texts):
        raise invalid_param("input", "strings must not be empty")
    out, n_tokens = [], 0
    for s in texts:
        ids = list(lm.tokenizer.encode(s, add_special_tokens=True))
        ids = ids[: lm.max_context]
        n_tokens += len(ids)
        h = lm.model.model(mx.array([ids]))  # (1, L, D), final-norm hidden states
        v = mx.mean(h[0].astype(mx.float32), axis=0)
        v = v / mx.maximum(mx.linalg.norm(v), 1e-12)
        out.append(v.tolist())
    return {"model": lm.name, "embeddings": out, "dim": len(out[0]), "usage": {"prompt_tokens": n_tokens}}
