"""The `pitchmap` command line. Results go to stdout; progress, logs and errors to stderr."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import multiprocessing
import os
import sys
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from functools import wraps
from importlib.resources import as_file, files
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from api.settings import Settings
from api.state import open_selector
from engine import (
    IndexedLibrary,
    InputError,
    PitchmapError,
    Problem,
    Prospect,
    Selection,
    Selector,
    load_library,
    load_prospects,
)
from engine.assemble import AssembledDocument, Rep, assemble
from engine.assemble.formats import FILE_NAMES, renderer
from engine.files import StagedFiles, open_regular
from engine.learning import SEGMENT_FACET, Engagement, Learning
from tracker.purge import MAX_DAYS

app = typer.Typer(
    help="pitchmap: the right content blocks for every prospect, and what they read.",
    no_args_is_help=True,
    add_completion=False,
)
# Markup off: what is printed (needs, key names, block text) is data, and "[/x]" in a
# prospect's needs would otherwise stop the command with a MarkupError.
out = Console(soft_wrap=True, markup=False)
err = Console(stderr=True, soft_wrap=True, markup=False)

P = ParamSpec("P")
R = TypeVar("R")

LibraryOption = Annotated[
    Path, typer.Option("--library", help="The content library folder.", show_default=False)
]
ProspectsOption = Annotated[
    Path,
    typer.Option("--prospects", help="A prospect file, or a folder of them.", show_default=False),
]
AsOfOption = Annotated[
    str | None,
    typer.Option("--as-of", help="YYYY-MM-DD: the date that decides expiry (default today)."),
]
LearnOption = Annotated[
    bool,
    typer.Option(
        "--learn",
        help="Let how blocks were read (the data folder's database) reorder near-ties.",
    ),
]
SeedOption = Annotated[
    int | None,
    typer.Option("--seed", help="With --learn: the exploration seed (default 0).", min=0),
]


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn the engine's errors into one line per problem on stderr and a non-zero exit."""

    @wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except InputError as exc:
            for problem in exc.problems:
                err.print(f"error: {problem}", highlight=False)
            raise typer.Exit(2) from None
        except PitchmapError as exc:
            err.print(f"error: {exc}", highlight=False)
            raise typer.Exit(1) from None

    return run


def parse_as_of(value: str | None) -> dt.date:
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        message = f"{value!r} is not a date (YYYY-MM-DD)"
        raise typer.BadParameter(message, param_hint="--as-of") from None


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr, advanced by the engine's (done, total) callbacks."""
    columns = (TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=err, transient=False) as bar:
        tasks: list[TaskID] = []

        def advance(done: int, total: int) -> None:
            if not tasks:  # shown only once there is work to show
                tasks.append(bar.add_task(description, total=total))
            bar.update(tasks[0], completed=done, total=total)

        yield advance


def indexed(library_dir: Path, settings: Settings) -> Selector:
    library = load_library(library_dir)
    with progress_bar(f"embedding {library.name}") as advance:
        return open_selector(settings, library, advance)


@app.command("index")
@reports_errors
def index_command(library: LibraryOption) -> None:
    """Embed the library's blocks (only what changed since the last run) and save the index."""
    r = indexed(library, Settings.from_env()).indexed.report
    out.print(
        f"indexed {r.blocks} blocks: {r.embedded} embedded, {r.blocks - r.embedded} from cache, "
        f"{r.written} index entries written, {r.removed} removed",
        highlight=False,
    )


@app.command("select")
@reports_errors
def select_command(
    library: LibraryOption,
    prospects: ProspectsOption,
    as_of: AsOfOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    learn: LearnOption = False,
    seed: SeedOption = None,
) -> None:
    """Choose the blocks of every slot for each prospect, with reasons, gaps and alternatives."""
    date = parse_as_of(as_of)
    profiles = load_prospects(prospects)
    selector = indexed(library, Settings.from_env())
    learned = recorded_engagement(selector, profiles, learn, seed)
    for prospect in profiles:
        selection = selector.select(prospect, date, learned)
        if as_json:
            print(json.dumps(selection.to_dict(), ensure_ascii=False), flush=True)
        else:
            print_selection(selection, selector.indexed)


def print_selection(selection: Selection, result: IndexedLibrary) -> None:
    titles = {s.id: s.title for s in result.library.slots}
    table = Table(title=f"prospect {selection.prospect}", title_justify="left", expand=False)
    for column in ("slot", "block", "score", "why"):
        table.add_column(column, overflow="fold")
    for s in selection.sections:
        table.add_row(titles[s.slot], s.block_id, f"{s.score:.3f}", s.why)
    out.print(table)
    for gap in selection.gaps:
        out.print(f"  gap: no eligible block for slot {gap}", highlight=False)
    for need in selection.unanswered_needs:
        out.print(f"  unanswered ({need.best_score:.2f}): {need.need}", highlight=False)


@app.command("assemble")
@reports_errors
def assemble_command(
    library: LibraryOption,
    prospects: ProspectsOption,
    out_dir: Annotated[
        Path,
        typer.Option("--out", help="Where each prospect's folder is written.", show_default=False),
    ],
    as_of: AsOfOption = None,
    formats: Annotated[
        str, typer.Option("--format", help="Comma-separated: pptx, docx, html.")
    ] = "pptx,docx,html",
    rep_name: Annotated[
        str | None, typer.Option("--rep-name", help="rep.name (default PITCHMAP_REP_NAME).")
    ] = None,
    rep_email: Annotated[
        str | None, typer.Option("--rep-email", help="rep.email (default PITCHMAP_REP_EMAIL).")
    ] = None,
    learn: LearnOption = False,
    seed: SeedOption = None,
) -> None:
    """Write each prospect's deck, proposal and web page under OUT/<prospect id>/.

    Nothing is written unless every document of every prospect could be built and written.
    """
    date = parse_as_of(as_of)
    renderers = {name: renderer(name) for name in parse_formats(formats)}
    settings = Settings.from_env()
    rep = Rep(name=rep_name or settings.rep_name, email=rep_email or settings.rep_email)
    profiles = load_prospects(prospects)
    check_out(out_dir, [p.id for p in profiles], renderers)
    selector = indexed(library, settings)
    learned = recorded_engagement(selector, profiles, learn, seed)
    documents = assemble_all(selector, profiles, date, rep, learned)
    files: list[tuple[Path, bytes]] = []
    with progress_bar("rendering") as advance:
        for done, document in enumerate(documents, 1):
            folder = out_dir / document.prospect.id
            files.extend(
                (folder / FILE_NAMES[n], render(document)) for n, render in renderers.items()
            )
            advance(done, len(documents))
    write_all(out_dir, files)


def check_out(out_dir: Path, prospect_ids: list[str], formats: Iterable[str]) -> None:
    """Refuse, before any work, an --out where the files cannot go (a file where a folder
    must be, a folder where a file must be, a folder not writable), so that nothing is
    half-written; a failure while writing (a full disk) is left to `write_all` to undo."""
    problems: set[Problem] = set()
    for prospect_id in prospect_ids:
        for name in formats:
            path = out_dir / prospect_id / FILE_NAMES[name]
            if path.is_dir():
                problems.add(Problem(str(path), "--out", "is a folder, where a file goes"))
            existing = next(p for p in path.parents if p.exists())
            if not existing.is_dir():
                problems.add(Problem(str(existing), "--out", "is a file, not a folder"))
            elif not os.access(existing, os.W_OK | os.X_OK):
                problems.add(Problem(str(existing), "--out", "is a folder you cannot write to"))
    if problems:
        raise InputError(sorted(problems))


def parse_formats(value: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(n.strip().lower() for n in value.split(",") if n.strip()))
    unknown = [n for n in names if n not in FILE_NAMES]
    if unknown or not names:
        named = ", ".join(repr(n) for n in unknown) or "nothing"
        message = f"{named}: each format must be one of {', '.join(FILE_NAMES)}"
        raise typer.BadParameter(message, param_hint="--format")
    return names


def write_all(out_dir: Path, files: list[tuple[Path, bytes]]) -> None:
    """Write every file or none (a full disk midway must not leave some prospects' documents
    new and others old), printing each path only once it is in place."""
    with ExitStack() as stack:
        with refused_unless_written(out_dir):  # making --out or its staging folder
            staged = stack.enter_context(StagedFiles(out_dir))
        for path, content in files:
            with refused_unless_written(path):
                staged.write(path, content)
        for path, _ in files:
            with refused_unless_written(path):
                staged.place(path)
            print(path, flush=True)


@contextmanager
def refused_unless_written(path: Path) -> Iterator[None]:
    """Say a failed write (no permission, a full disk) as one bad-input line naming the path
    and --out, not as a traceback."""
    try:
        yield
    except OSError as exc:
        problem = Problem(str(path), "--out", f"cannot be written: {exc.strerror or exc}")
        raise InputError([problem]) from None


def assemble_all(
    selector: Selector,
    profiles: list[Prospect],
    date: dt.date,
    rep: Rep,
    engagement: Engagement | None = None,
) -> list[AssembledDocument]:
    """Every prospect's document, or one InputError with every problem of every prospect."""
    library = selector.indexed.library
    documents: list[AssembledDocument] = []
    problems: set[Problem] = set()
    with progress_bar("assembling") as advance:
        for done, prospect in enumerate(profiles, 1):
            try:
                selection = selector.select(prospect, date, engagement)
                documents.append(assemble(library, selection, prospect, date, rep))
            except InputError as exc:
                problems.update(exc.problems)
            advance(done, len(profiles))
    if problems:
        raise InputError(sorted(problems))
    return documents


def recorded_engagement(
    selector: Selector, profiles: list[Prospect], learn: bool, seed: int | None
) -> Engagement | None:
    """With --learn, the observations recorded for the library (by name) in the data folder's
    database, for the prospects' industries; None otherwise (content-only selection)."""
    if not learn:
        if seed is not None:
            raise typer.BadParameter("needs --learn", param_hint="--seed")
        return None
    from tracker.read_counts import read_counts

    name = selector.indexed.library.name
    industries = {v for p in profiles for v in p.facet(SEGMENT_FACET)}
    observations = with_database(lambda session: read_counts(session, name, industries))
    return Engagement(observations, Learning(seed=seed or 0))


@app.command("import")
@reports_errors
def import_command(
    file: Annotated[
        Path, typer.Argument(help="A .pptx deck or a .docx document.", show_default=False)
    ],
    library: LibraryOption,
    slot: Annotated[
        str | None,
        typer.Option("--slot", help="The slot every draft goes to (default: guessed per draft)."),
    ] = None,
) -> None:
    """Add draft blocks to the library: one per slide, or per heading section of a document.

    Never overwrites a file; writes nothing unless every draft can be written.
    """
    # No embedding model is loaded: drafts are never selected, so they need no vectors yet.
    from engine.importer import plan_import, write_drafts

    loaded = load_library(library)
    planned = plan_import(file, loaded, slot)
    drafts = planned.drafts
    paths = write_drafts(drafts, loaded.root)
    for path, draft in zip(paths, drafts, strict=True):
        print(f"{path}  slot={draft.slot}  title={draft.title}", flush=True)
    if any(d.slot_guessed for d in drafts):
        err.print(
            "note: slots were guessed from the titles; check each draft's slot before approving",
            highlight=False,
        )
    if skipped := planned.skipped_note():
        err.print(f"note: {file}: {skipped}", highlight=False)


keys_app = typer.Typer(help="API keys: create, list, revoke.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
T = TypeVar("T")


def with_database(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one committed transaction on the configured (and migrated) database."""
    from tracker.database import create_engine, create_sessions, migrate

    settings = Settings.from_env()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(settings.database_url)

    async def run() -> T:
        engine = create_engine(settings.database_url)
        try:
            async with create_sessions(engine)() as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    return asyncio.run(run())


@keys_app.command("create")
@reports_errors
def keys_create(
    role: Annotated[
        str, typer.Option("--role", help="rep, marketing or admin.", show_default=False)
    ],
    name: Annotated[str, typer.Option("--name", help="Who or what uses the key.")] = "",
) -> None:
    """Print a new key on stdout, alone on its line; it is stored only as a hash."""
    from tracker.keys import check_role, create_key

    checked = check_role(role)
    _key_id, key = with_database(lambda session: create_key(session, checked, name))
    print(key, flush=True)


@keys_app.command("list")
@reports_errors
def keys_list() -> None:
    """Every key: id, name, role, created, last used (never the key itself)."""
    from tracker.keys import list_keys

    table = Table(expand=False)
    for column in ("id", "name", "role", "created", "last used", "revoked"):
        table.add_column(column)
    for key in with_database(list_keys):
        table.add_row(
            str(key.id),
            key.name,
            key.role,
            _when(key.created_at),
            _when(key.last_used_at),
            _when(key.revoked_at),
        )
    out.print(table)


@keys_app.command("revoke")
@reports_errors
def keys_revoke(
    key_id: Annotated[
        int, typer.Argument(help="The key's id (see `keys list`).", show_default=False)
    ],
) -> None:
    """Stop a key from working, at once, also in a running server."""
    from tracker.keys import revoke_key

    key = with_database(lambda session: revoke_key(session, key_id))
    print(f"revoked key {key.id} ({key.role}{', ' + key.name if key.name else ''})", flush=True)


users_app = typer.Typer(
    help="People who sign in to the pages: create, list, set-email.", no_args_is_help=True
)
app.add_typer(users_app, name="users")


@users_app.command("create")
@reports_errors
def users_create(
    email: Annotated[
        str,
        typer.Argument(help="The user's email address.", metavar="EMAIL", show_default=False),
    ],
    role: Annotated[
        str, typer.Option("--role", help="rep, marketing or admin.", show_default=False)
    ],
) -> None:
    """Create a user and print its id. The password is asked for (hidden, twice) or, when
    stdin is not a terminal, read from its first line; never from an argument."""
    from tracker.users import create_user, user_problems

    where = "users create"
    problems = user_problems(email, role, where=where)
    if problems:
        raise InputError(problems)
    password = read_password()
    problems = user_problems(email, role, password, where=where)
    if problems:
        raise InputError(problems)
    user = with_database(lambda session: create_user(session, email, role, password, where))
    print(user.id, flush=True)


def read_password() -> str:
    if sys.stdin.isatty():
        password: str = typer.prompt(
            "Password", hide_input=True, confirmation_prompt=True, err=True
        )
        return password
    return sys.stdin.readline().rstrip("\r\n")


@users_app.command("list")
@reports_errors
def users_list() -> None:
    """Every user: id, email, role, created (never a password or its hash)."""
    from tracker.users import list_users

    table = Table(expand=False)
    for column in ("id", "email", "role", "created"):
        table.add_column(column)
    for user in with_database(list_users):
        table.add_row(str(user.id), user.email, user.role, _when(user.created_at))
    out.print(table)


@users_app.command("set-email")
@reports_errors
def users_set_email(
    email: Annotated[
        str,
        typer.Argument(help="The user's email address now.", metavar="EMAIL", show_default=False),
    ],
    new_email: Annotated[
        str,
        typer.Argument(
            help="The address they sign in with from now on.",
            metavar="NEW_EMAIL",
            show_default=False,
        ),
    ],
) -> None:
    """Change a user's email (one made when an address pitchmap cannot mail was still let in)
    and print its id and new address. Their sessions, role, time zone and password stay."""
    from tracker.users import (
        UserInfo,
        email_problems,
        find_user_by_email,
        normalise_email,
        set_email,
    )

    where = "users set-email"
    problems = email_problems(new_email, where, "new_email")
    if problems:
        raise InputError(problems)

    async def change(session: AsyncSession) -> UserInfo:
        found = await find_user_by_email(session, email)
        changed = None
        if found is not None:
            changed = await set_email(session, found.id, new_email, where, "new_email")
        if changed is None:
            raise InputError(
                [Problem(where, "email", f"{normalise_email(email)!r} has no account")]
            )
        return changed

    user = with_database(change)
    print(user.id, user.email, flush=True)


def _when(moment: dt.datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


outcomes_app = typer.Typer(help="Deals' outcomes: import a CRM's export.", no_args_is_help=True)
app.add_typer(outcomes_app, name="outcomes")


@outcomes_app.command("import")
@reports_errors
def outcomes_import(
    file: Annotated[
        Path,
        typer.Argument(help="A CSV export (see the README's columns).", metavar="FILE.csv"),
    ],
) -> None:
    """Record the outcome of every row and print how many; with any bad row, print every
    problem (line, column, what is wrong) and record nothing."""
    from tracker.outcome_import import MAX_BYTES, import_outcomes

    try:
        with open_regular(file) as opened:  # a FIFO or a device is refused, never read
            content = opened.read(MAX_BYTES + 1)  # one byte over is enough to refuse it
    except OSError as exc:
        raise InputError([Problem(str(file), "file", exc.strerror or str(exc))]) from None
    print(with_database(lambda session: import_outcomes(session, content, file.name)), flush=True)


@app.command("digest")
@reports_errors
def digest_command(
    print_only: Annotated[
        bool, typer.Option("--print", help="Print the digest on stdout and send nothing.")
    ] = False,
) -> None:
    """Mail marketing's weekly digest for the last seven days now (the server sends it every
    Monday); a week is mailed once, whoever sends it."""
    from api.digest import digest_once
    from tracker.database import migrate

    settings = Settings.from_env()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(settings.database_url)
    print(asyncio.run(digest_once(settings, dt.datetime.now(dt.UTC), print_only)), flush=True)


@app.command("rollup")
@reports_errors
def rollup_command() -> None:
    """Roll up the finished visits for marketing's reports now (the server also does it every
    minute); prints how many visits were added."""
    from tracker.rollup import roll_up

    added = with_database(lambda session: roll_up(session, dt.datetime.now(dt.UTC)))
    print(added, flush=True)


@app.command("purge")
@reports_errors
def purge_command(
    older_than: Annotated[
        int | None,
        typer.Option(
            "--older-than",
            metavar="DAYS",
            min=1,
            max=MAX_DAYS,
            help="Remove visits started more than DAYS days ago (default PITCHMAP_RETENTION_DAYS).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Remove raw visits older than DAYS that are in the roll-ups already, with their section
    time and heartbeats; print how many rows went (the details go to stderr).

    Marketing's block figures and slot funnel keep every visit: with no date range, or over
    whole months, they read the roll-ups, and so does block influence. The link and document
    reports, the pre-call page, a block's weekly figures and stale content's rarely-seen test
    read the raw visits, so afterwards they cover the last DAYS days only; a date range whose
    first or last month was partly purged undercounts that month. Old visits not rolled up yet
    are kept.
    """
    from tracker.purge import purge

    days = older_than or Settings.from_env().retention_days
    if days is None:
        message = "give the number of days, or set PITCHMAP_RETENTION_DAYS"
        raise typer.BadParameter(message, param_hint="--older-than")
    now = dt.datetime.now(dt.UTC)
    done = with_database(lambda session: purge(session, dt.timedelta(days=days), now))
    err.print(
        f"removed {done.visits} visits started more than {days} days ago, "
        f"{done.section_time} section-time rows and {done.view_events} heartbeats; "
        f"kept {done.kept} such visits that are not rolled up yet",
        highlight=False,
    )
    print(done.rows, flush=True)


@app.command("backup")
@reports_errors
def backup_command(
    dest: Annotated[
        Path,
        typer.Argument(
            metavar="DEST", help="The file to create (never overwritten).", show_default=False
        ),
    ],
) -> None:
    """Copy the SQLite database to DEST, safely while the server keeps writing, and print
    DEST's path. For PostgreSQL use pg_dump (see the README's Backups)."""
    from tracker.backup import backup

    print(backup(Settings.from_env().database_url, dest), flush=True)


HostOption = Annotated[str, typer.Option("--host", help="The address to listen on.")]
PortOption = Annotated[int, typer.Option("--port", min=1, max=65535, help="The port.")]


@app.command("serve")
@reports_errors
def serve_command(
    library: Annotated[
        Path | None, typer.Option("--library", help="The library to serve.", show_default=False)
    ] = None,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Worker processes, each serving the library.")
    ] = 1,
) -> None:
    """Start the web app and API on one library (indexed at start)."""
    run_server(library, (), host, port, workers=workers)


@app.command("demo")
@reports_errors
def demo_command(host: HostOption = "127.0.0.1", port: PortOption = 8000) -> None:
    """Serve the packaged demo library, with its demo prospects one click away, and a demo rep
    and marketing user whose fresh one-time passwords are printed beside the address."""
    root = files("fixtures") / "bastion"
    with as_file(root) as folder:
        prospects = tuple(load_prospects(folder / "prospects"))
        accounts = demo_accounts()
        run_server(folder / "library", prospects, host, port, accounts)


def demo_accounts() -> list[tuple[str, str]]:
    """Create (or reset) the demo users with new passwords: (email, password) each."""
    from tracker.users import ensure_demo_users

    return with_database(ensure_demo_users)


def run_server(
    library: Path | None,
    prospects: tuple[Prospect, ...],
    host: str,
    port: int,
    accounts: list[tuple[str, str]] | None = None,
    workers: int = 1,
) -> None:
    """Serve in this process, or in `workers` processes (uvicorn's supervisor, api/workers.py).
    Logs go to stderr as JSON lines (api/logs.py); uvicorn's own access log would show tokens."""
    import uvicorn

    from api.workers import serving

    settings = Settings.from_env()
    if library is None:
        err.print("starting without a library")
    target: Any = "api.workers:worker_app"
    if workers == 1:
        from api.app import create_app

        with progress_bar("embedding the library") as advance:
            target = serving(create_app(settings, library, prospects, advance))
    else:
        prepare_workers(settings, library)
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
    print(f"pitchmap is serving at http://{shown}:{port}/", flush=True)
    for email, password in accounts or ():
        print(f"  sign in as {email} with {password}", flush=True)
    uvicorn.run(
        target,
        factory=workers > 1,
        workers=workers,
        host=host,
        port=port,
        log_config=None,
        log_level="info",
        access_log=False,
        # uvicorn would believe X-Forwarded-For/-Proto from 127.0.0.1 whatever the settings:
        # they are believed only from PITCHMAP_TRUSTED_PROXIES (api/clients.py).
        proxy_headers=False,
    )


def prepare_workers(settings: Settings, library: Path | None) -> None:
    """Do once what every worker would otherwise race the others to do at start: migrate,
    embed the library into the data folder's cache and store it. Then tell the workers which
    library to serve and where to share their metrics, and log from this supervising process
    as they do.

    The preparation runs in a process of its own: embedding may load the model (hundreds of
    MB), which the supervisor, alive as long as the server, has no use for."""
    from api.logs import configure_process_logging
    from api.workers import hand_over, share_metrics

    if library is not None:
        once = multiprocessing.get_context("spawn").Process(target=store_library, args=(library,))
        once.start()
        once.join()
        if once.exitcode != 0:  # the process said why on stderr
            raise typer.Exit(once.exitcode if once.exitcode and once.exitcode > 0 else 1)
    hand_over(library)
    share_metrics(settings.data_dir)
    configure_process_logging()


def store_library(library: Path) -> None:
    """Migrate, embed `library` into the data folder's cache and store it in the database;
    problems are reported as every command reports them, and end the process with its code."""
    from tracker.library_store import import_library

    @reports_errors
    def store() -> None:
        selector = indexed(library, Settings.from_env())
        with_database(lambda session: import_library(session, selector.indexed.library))

    try:
        store()
    except typer.Exit as stop:
        sys.exit(stop.exit_code)


def main() -> Any:
    return app()
