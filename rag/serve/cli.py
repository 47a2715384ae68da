"""The ``rag`` command: index, search, ask, serve and evaluate, all through the
``Assistant`` (``rag serve``'s app is ``rag.serve.app``)."""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

import click

from rag import Assistant, Filters, Progress, RagError, Settings


def _assistant(index_dir: str | None, store: str | None = None, **overrides) -> Assistant:
    try:
        settings = Settings.from_env(index_dir=index_dir, store=store, **overrides)
    except ValueError as exc:  # a bad option or RAG_* variable: say which, no traceback
        raise click.UsageError(str(exc)) from None
    return Assistant(settings)


def llm_options(func):
    """--model, and --llm-url / --llm-api for OpenAI-compatible model servers."""
    func = click.option(
        "--llm-api", type=click.Choice(["auto", "completions", "chat"]), default=None,
        help="With --llm-url: the plain completion endpoint (the prompt as the bundled "
             "model gets it) or chat; auto picks chat for instruct/chat model names.")(func)
    func = click.option(
        "--llm-url", "llm_urls", multiple=True, metavar="URL",
        help="An OpenAI-compatible model server to generate with, e.g. "
             "http://127.0.0.1:8000/v1 (repeat for a pool, used round robin; default: "
             "$RAG_LLM_URL, comma-separated; key: $RAG_LLM_API_KEY).")(func)
    return click.option(
        "--model", default=None, metavar="NAME|PATH",
        help="gemma3-270m, smollm2-135m or a .gguf file (default: $RAG_MODEL); with "
             "--llm-url, the served model's name (default: the server's first).")(func)


def _llm(model, llm_urls, llm_api) -> dict:
    """Settings overrides for the LLM options: --model names the in-process model and,
    when model servers are used (--llm-url or $RAG_LLM_URL), the served one."""
    return {"model": model, "llm_model": model, "llm_urls": tuple(llm_urls) or None,
            "llm_api": llm_api}


def _emit(data, as_json: bool, human) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        human()


class _Group(click.Group):
    """Turn the library's errors into one-line messages instead of stack traces."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except RagError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)


@click.group(cls=_Group)
@click.version_option(package_name="rag-news")
@click.option("-v", "--verbose", is_flag=True, help="Log what happens, to stderr.")
def cli(verbose: bool) -> None:
    """Ask questions of a folder of news articles, with cited answers, offline.

    \b
    Examples:
      rag index seeds/                 build or update the index
      rag search "What did Rutte say?"
    """
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s: %(message)s", stream=sys.stderr)


def index_dir_option(func):
    """--index-dir, and --store for an index elsewhere (a Milvus server)."""
    func = click.option(
        "--store", default=None, metavar="URI",
        help="Where the index lives instead: milvus://HOST:PORT/NAME (a Milvus server; "
             "milvus+https:// for TLS; token from $RAG_MILVUS_TOKEN), milvus-lite://PATH "
             "(Milvus Lite in this process) or a directory (default: $RAG_STORE; it wins "
             "over --index-dir).")(func)
    return click.option(
        "--index-dir", type=click.Path(file_okay=False), default=None,
        help="Index directory (default: $RAG_INDEX_DIR or ./index).")(func)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@index_dir_option
@json_option
@click.option("--rebuild", is_flag=True,
              help="Start from an empty index (needed after changing embedder or chunker).")
@click.option("--watch", is_flag=True,
              help="Keep running and index files as they arrive, change or go.")
@click.option("--embedder", default=None,
              help="`bundled` or a sentence-transformers model directory.")
@click.option("--check", is_flag=True,
              help="Only check the index's integrity and say what is wrong (exit 1 if any).")
def index(paths, index_dir, store, as_json, rebuild, watch, embedder, check) -> None:
    """Build or update the index of PATHS (default: ./seeds).

    Only new and changed articles are chunked and embedded; deleted ones are removed.

    \b
    Examples:
      rag index seeds/
      rag index seeds/ more/ --json
      rag index seeds/ --watch
    """
    bot = _assistant(index_dir, store, embedder=embedder)
    if check:
        generation, problems = bot.check_index()
        _emit({"generation": generation, "problems": problems}, as_json,
              lambda: click.echo("\n".join(problems) if problems else
                                 f"{generation}: no problems found"))
        sys.exit(1 if problems else 0)
    paths = [Path(p) for p in paths] or [bot.settings.seeds_dir]
    for p in paths:
        if not p.exists():
            raise RagError(f"{p} does not exist - create it and put articles (.txt, .md, "
                           ".html, .pdf, .jsonl) in it, or name another folder.")
    if watch:
        if rebuild:
            _print_report(bot.index(paths, rebuild=True, show_progress=not as_json), as_json)
        click.echo(f"Watching {', '.join(map(str, paths))} - press Ctrl-C to stop.", err=True)
        bot.watch(paths, lambda: _print_report(
            bot.index(paths, show_progress=not as_json), as_json))
    else:
        _print_report(bot.index(paths, rebuild=rebuild, show_progress=not as_json), as_json)


def _print_report(report, as_json: bool) -> None:
    def human():
        a = report.to_dict()["articles"]
        click.echo(f"{a['added']} added, {a['changed']} changed, {a['unchanged']} unchanged, "
                   f"{a['deleted']} deleted; {report.chunks_embedded} chunks embedded, "
                   f"{report.chunks_total} in the index ({report.seconds:.1f} s)")
        for s in report.skipped:
            click.echo(f"skipped {s.path}: {s.reason}", err=True)

    _emit(report.to_dict(), as_json, human)
    sys.stdout.flush()


def filter_options(func):
    func = click.option("--article", "articles", multiple=True, metavar="ID",
                        help="Only this article (repeat for several).")(func)
    func = click.option("--until", default=None, metavar="YYYY-MM-DD",
                        help="Only articles dated on or before this day.")(func)
    func = click.option("--since", default=None, metavar="YYYY-MM-DD",
                        help="Only articles dated on or after this day.")(func)
    return func


def _filters(since, until, articles):
    try:
        return Filters(since=since, until=until, articles=tuple(articles))
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@cli.command()
@click.argument("query")
@click.option("-k", default=None, type=click.IntRange(1, 100), help="Passages to show.")
@filter_options
@click.option("--reranker", default=None, metavar="PATH",
              help="Re-rank with a local cross-encoder model directory.")
@index_dir_option
@json_option
def search(query, k, since, until, articles, reranker, index_dir, store, as_json) -> None:
    """Show the passages that best match QUERY (dense + BM25, fused).

    \b
    Examples:
      rag search "What did Rutte say?" -k 3
      rag search "strikes on Kiev" --since 2025-04-01 --until 2025-04-30
      rag search "budget" --article business/001 --json
    """
    filters = _filters(since, until, articles)
    bot = _assistant(index_dir, store, reranker=reranker)
    began = time.perf_counter()
    passages = bot.search(query, k, filters)
    ms = (time.perf_counter() - began) * 1000
    note = None
    if not passages:
        note = ("No article matches the filters." if filters.active
                else "No passages found.")

    def human():
        if note:
            click.echo(note)
        for n, p in enumerate(passages, 1):
            a = p.article
            click.echo(click.style(f"[{n}] {a.title}", bold=True)
                       + f" ({a.date or 'undated'}) score {p.score:.3f}")
            click.echo(f"    {a.id}: {a.path} chars {p.chunk.start}-{p.chunk.end}")
            click.echo("    " + p.excerpt(400))
        click.echo(f"({ms:.0f} ms)", err=True)

    _emit({"query": query, "filters": filters.to_dict(), "note": note,
           "passages": [p.to_dict() for p in passages], "ms": round(ms, 1)}, as_json, human)


@cli.command()
@click.argument("question")
@index_dir_option
@llm_options
@filter_options
@json_option
def ask(question, index_dir, store, model, llm_urls, llm_api, since, until, articles,
        as_json) -> None:
    """Answer QUESTION from the articles, with numbered citations, or say it is not there.

    \b
    Examples:
      rag ask "What did Rutte say?"
      rag ask "What did Lavrov say?" --since 2025-04-01 --json
      rag ask "What did Rutte say?" --llm-url http://127.0.0.1:8000/v1
    """
    filters = _filters(since, until, articles)
    bot = _assistant(index_dir, store, **_llm(model, llm_urls, llm_api))
    answer = None
    status = False  # a status line is showing on the terminal
    terminal = sys.stdout.isatty() and not as_json
    for item in bot.stream(question, filters=filters):
        if isinstance(item, Progress):
            if terminal:
                click.echo(click.style(f"\r\033[K{item.text}\u2026", dim=True), nl=False)
                status = True
        elif isinstance(item, str):
            if status:
                click.echo("\r\033[K", nl=False)  # the status line goes, not the answer
                status = False
            if not as_json:
                click.echo(item, nl=False)  # every piece is part of the final answer
        else:
            answer = item
    if as_json:
        click.echo(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return
    click.echo("")
    if answer.notice:
        click.echo(f"Note: {answer.notice}", err=True)
    if answer.citations:
        click.echo("\nSources:")
        for c in answer.citations:
            click.echo(f"  [{c.n}] {c.title} ({c.date or 'undated'}) {c.path} "
                       f"chars {c.start}-{c.end}")
            click.echo(f"      {' '.join(c.quote.split())}")
    elif answer.passages:
        click.echo("\nClosest passages:")
        for p in answer.passages:
            click.echo(f"  - {p.article.title} ({p.article.date or 'undated'}): "
                       + p.excerpt(200))



@cli.command()
@index_dir_option
@click.option("--seeds", "seeds_dir", type=click.Path(file_okay=False), default=None,
              help="Folder of articles to index and to save uploads in (default: ./seeds).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; only this machine can connect by default.")
@click.option("--port", default=7860, show_default=True, type=int, help="Port to listen on.")
@click.option("--auth", default=None, metavar="USER:PASS",
              help="Require this login (use it whenever --host is not 127.0.0.1).")
@click.option("--index/--no-index", "sync_seeds", default=None,
              help="Index the seeds folder at start and allow uploads and deletes on the "
                   "page (default: yes, except for a shared index on a Milvus server, "
                   "which `rag index` jobs write).")
@llm_options
def serve(index_dir, store, seeds_dir, host, port, auth, sync_seeds, model, llm_urls,
          llm_api) -> None:
    """Update the index of the seeds folder, then serve the chat page.

    \b
    Examples:
      rag serve
      rag serve --host 0.0.0.0 --auth alice:s3cret --port 8080
      rag serve --store milvus://milvus.internal:19530/news    (reads a shared index)
    """
    bot = _assistant(index_dir, store, seeds_dir=seeds_dir, **_llm(model, llm_urls, llm_api))
    if sync_seeds is None:
        sync_seeds = not bot.shared_index
    seeds = Path(bot.settings.seeds_dir)
    seeds.mkdir(parents=True, exist_ok=True)
    credentials = None
    if auth:
        user, sep, password = auth.partition(":")
        if not sep or not user or not password:
            raise click.BadParameter("use USER:PASS", param_hint="--auth")
        credentials = (user, password)
    elif host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"Warning: serving on {host} without --auth: anyone who can reach this "
                   "address can use it.", err=True)
    if sync_seeds:
        click.echo(f"Indexing {seeds} ...", err=True)
        _print_report(bot.index([seeds], show_progress=True), False)
    else:
        status = bot.status()  # fails here, with its message, if the index is not there
        click.echo(f"Reading the shared index at {bot.settings.location} ({status.articles} "
                   "articles); not indexing the seeds folder (--index to do so).", err=True)
    from rag.serve.app import MODEL_ID, make_app, run

    app = make_app(bot, seeds, writable=sync_seeds, credentials=credentials)
    click.echo(f"Loading the LLM ({bot.generator.name}), the NLP model and the reader ...",
               err=True)
    problem = bot.warm_up()  # the first question is answered at full speed
    if problem:
        click.echo(f"Warning: {problem} Questions that need the model get quoted answers "
                   "until it is back.", err=True)
    click.echo(f"Embedder: {bot.embedder.model_id}; LLM: {bot.generator.name}"
               f"{' at ' + bot.generator.where if bot.settings.llm_urls else ''}", err=True)
    click.echo(f"Chat page: http://{host}:{port}/", err=True)
    click.echo(f"OpenAI-compatible API: http://{host}:{port}/v1 (model {MODEL_ID!r})", err=True)
    run(app, host, port)


@cli.group()
def eval() -> None:  # noqa: A001 - the command is called eval
    """Measure retrieval and answers on an evaluation file."""


def eval_options(what: str):
    def decorate(func):
        func = click.option("--seed", type=int, default=0, show_default=True,
                            help="Sampling seed.")(func)
        func = click.option("--limit", type=click.IntRange(1), default=None,
                            help=f"Ask a seeded sample of N {what}.")(func)
        return click.option("--data", "data_path", required=True,
                            type=click.Path(exists=True, dir_okay=False),
                            help="Evaluation file (the schema in the README).")(func)
    return decorate


@eval.command("retrieval")
@eval_options("answerable questions")
@click.option("--misses", type=click.Path(dir_okay=False), default=None,
              help="Write the questions whose document was not ranked first (JSONL).")
@click.option("--reranker", default=None, metavar="PATH",
              help="Re-rank with a local cross-encoder model directory.")
@click.option("--candidates", type=click.IntRange(1, 1000), default=None,
              help="Candidates from each of dense and BM25 search (default: Settings).")
@index_dir_option
@json_option
def eval_retrieval_cmd(data_path, limit, seed, misses, reranker, candidates, index_dir,
                       store, as_json) -> None:
    """Recall@1/5/10 and MRR@10 by document over the answerable questions.

    The documents are indexed into a cache keyed by their content, so a second run embeds
    nothing; --index-dir puts that index in DIR instead, and --store milvus://... in a
    collection named after the given one and that key.

    \b
    Example:
      rag eval retrieval --data ../shared/data/squad_dev.json --limit 1000
    """
    from rag.evaluation import eval_retrieval, load_eval_file, prepare_index, sample

    data = load_eval_file(data_path)
    bot = _assistant(None, store, reranker=reranker, candidates=candidates)
    settings = prepare_index(data, Path(data_path), bot.settings, bot.embedder,
                             show_progress=not as_json, index_dir=index_dir)
    scorer = Assistant(settings, embedder=bot.embedder)
    answerable = [q for q in data["questions"] if not q.get("is_impossible") and q.get("doc_id")]
    questions = sample(answerable, limit, seed)
    result = eval_retrieval(lambda q, k: scorer.search(q, k), questions,
                            show_progress=not as_json, misses=Path(misses) if misses else None)

    def human():
        for key, value in result.items():
            click.echo(f"{key:>10}: {value}")

    _emit(result, as_json, human)


@eval.command("answers")
@eval_options("questions (answerable and not)")
@llm_options
@click.option("--records", type=click.Path(dir_okay=False), default=None,
              help="Write every question with its answer (JSONL).")
@index_dir_option
@json_option
def eval_answers_cmd(data_path, limit, seed, model, llm_urls, llm_api, records, index_dir,
                     store, as_json) -> None:
    """Answer accuracy, refusal accuracy, citation precision and latency.

    \b
    Example:
      rag eval answers --data ../shared/data/seed_qa.json
      rag eval answers --data ../shared/data/squad_dev.json --limit 300 --seed 0
    """
    from rag.evaluation import eval_answers, load_eval_file, prepare_index, sample

    data = load_eval_file(data_path)
    bot = _assistant(None, store, **_llm(model, llm_urls, llm_api))
    settings = prepare_index(data, Path(data_path), bot.settings, bot.embedder,
                             show_progress=not as_json, index_dir=index_dir)
    scorer = Assistant(settings, embedder=bot.embedder)
    problem = scorer.generator.prepare()  # loaded (or reached) before the clock starts
    if problem:
        click.echo(f"Warning: {problem} Questions that need the model get quoted answers.",
                   err=True)
    questions = sample(data["questions"], limit, seed)
    result = eval_answers(lambda q, h: scorer.ask(q, history=h), questions,
                          show_progress=not as_json,
                          records=Path(records) if records else None)
    result["model"] = scorer.generator.name
    result["llm_urls"] = list(settings.llm_urls)

    def human():
        for key, value in result.items():
            click.echo(f"{key:>20}: {value}")

    _emit(result, as_json, human)


def main() -> None:
    cli(prog_name="rag")


if __name__ == "__main__":
    main()
