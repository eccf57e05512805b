"""``nbregistry cache``: show and clean the remote artifact cache (see ``nbregistry/cache.py``).
It opens no registry: the cache belongs to this machine, not to any one registry."""

from __future__ import annotations

from .cli import fmt_bytes, fmt_time, kv_block, output, table


def add_cache_parser(sub):
    p = sub.add_parser("cache", help="show or clean the cache of artifacts downloaded from team registries",
                       description="RemoteRegistry keeps downloaded artifacts by hash (re-verified on every use) "
                                   "under NBREGISTRY_CACHE_DIR or <jupyter data dir>/nbregistry-cache, evicting the "
                                   "least recently used beyond NBREGISTRY_CACHE_MAX (default 10G).")
    p.add_argument("action", nargs="?", choices=("show", "clean"), default="show",
                   help="show (default): what is cached; clean: remove it")
    p.add_argument("--to", metavar="SIZE", default="0",
                   help="with clean: evict least recently used artifacts until at most SIZE remain (e.g. 2G; default 0)")


def cmd_cache(_reg, args):
    from .cache import ArtifactCache, parse_size

    cache = ArtifactCache()
    if args.action == "clean":
        done = cache.clean(to_bytes=parse_size(args.to))
        return output(args, done, lambda d: f"removed {d['removed']} artifact(s), {fmt_bytes(d['freed_bytes'])}; "
                                            f"{fmt_bytes(d['remaining_bytes'])} left in {d['path']}")
    entries = cache.entries()
    total = sum(e.size for e in entries)
    data = {"path": str(cache.path), "max_bytes": cache.max_bytes, "total_bytes": total,
            "entries": [e.to_dict() for e in reversed(entries)]}

    def human(d):
        head = kv_block([("cache", d["path"]), ("size", f"{fmt_bytes(total)} of at most {fmt_bytes(cache.max_bytes)}"),
                         ("artifacts", len(entries))])
        rows = [[e.sha256[:12], fmt_bytes(e.size), fmt_time(e.to_dict()["last_used"])] for e in reversed(entries)]
        return head + ("\n\n" + table(rows, ["artifact", "size", "last used"]) if rows else "")

    return output(args, data, human)
