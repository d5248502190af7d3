"""Before a run starts: the files its config names, checked without connecting to anything.

``cwparity validate`` and ``cwparity run`` both call it, so validate refuses a missing CA file, a
price table or rules file that does not parse, before a run would (some only after its load).
Kept apart from flows so that validate does not import the whole run.
"""

from __future__ import annotations

from pathlib import Path

from cwparity.alarms.rules import load_rules_file
from cwparity.config import RunConfig
from cwparity.cost import load_price_table
from cwparity.errors import ConfigError


def check_named_files(config: RunConfig, config_path: Path) -> None:
    """The files a run reads (TLS, price table, rules): present and, if YAML, readable. (Not the
    SSH identity file: ssh goes on to its agent and default keys without it.)"""
    tls = config.prometheus.tls
    named = {"prometheus.tls.cert_file": tls.cert_file, "prometheus.tls.key_file": tls.key_file}
    if config.prometheus.verify_tls:
        named["prometheus.tls.ca_file"] = tls.ca_file
    for key, name in named.items():
        if name and not Path(name).expanduser().is_file():
            raise ConfigError(f"{config_path}: key '{key}' = {name!r}: file not found")
    try:
        if config.cost.enabled and config.cost.price_table:
            load_price_table(config.cost.price_table)
        if config.alarms.enabled:
            for name in config.alarms.rules_files:
                path = Path(name).expanduser()
                load_rules_file(path if path.is_absolute() else config_path.parent / path)
    except ConfigError as err:  # "KEY: FILE: problem": say which config named the file
        raise ConfigError(f"{config_path}: {err}") from None
