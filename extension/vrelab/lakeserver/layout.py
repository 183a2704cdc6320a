"""What the embedded data lake holds: its storage elements, scopes, accounts and sample names.

The names follow the ESCAPE data lake: RSEs named after the sites that host ATLAS Open Data there
(LAPP in Annecy, INFN Napoli), the open-data scope ``ATLAS_OD_EDU``, and per-user scopes
``user.<account>``. The samples are the two 13 TeV education analyses, H->gamma gamma and
H->ZZ*->4 leptons:

    ATLAS_OD_EDU:GamGam            container   -> datasets GamGam.data, GamGam.mc
    ATLAS_OD_EDU:4lep              container   -> datasets 4lep.data, 4lep.mc
    ATLAS_OD_EDU:<file name>       files, e.g. data_A.GamGam.root, mc_343981.ggH125_gamgam.GamGam.root

Files are uploaded to LAPP-DISK and a rule without lifetime keeps a second replica on NAPOLI-DISK.
"""

from __future__ import annotations

import getpass
import re
from typing import NamedTuple

OPEN_DATA_SCOPE = "ATLAS_OD_EDU"
UPLOAD_RSE = "LAPP-DISK"
REPLICA_RSE = "NAPOLI-DISK"
# Rucio's generic permission policy lets a non-admin account upload only to RSEs whose name ends
# in SCRATCHDISK, USERDISK, LOCALGROUPDISK or MOCK: this is the one users write to.
SCRATCH_RSE = "LAPP-SCRATCHDISK"
COLLECTIONS = ("GamGam", "4lep")
KINDS = ("data", "mc")
FALLBACK_USER = "student"
GiB = 1024**3


class RSESpec(NamedTuple):
    name: str
    directory: str  # under <home>/rses/
    country: str
    city: str
    rse_type: str  # the 'type' attribute: DATADISK or SCRATCHDISK
    capacity_bytes: int


RSES: tuple[RSESpec, ...] = (
    RSESpec("LAPP-DISK", "lapp-disk", "FR", "Annecy", "DATADISK", 50 * GiB),
    RSESpec("NAPOLI-DISK", "napoli-disk", "IT", "Napoli", "DATADISK", 50 * GiB),
    RSESpec("LAPP-SCRATCHDISK", "lapp-scratchdisk", "FR", "Annecy", "SCRATCHDISK", 20 * GiB),
)
RSE_NAMES: tuple[str, ...] = tuple(r.name for r in RSES)

USER_QUOTA_BYTES = 5 * GiB  # per RSE, for the user account
ROOT_QUOTA_BYTES = 100 * GiB  # per RSE, for root (it owns the sample data and its rules)

_ACCOUNT_RE = re.compile(r"^[a-z0-9_-]{1,20}$")  # Rucio's rule, short enough for 'user.<name>'


def dataset_name(collection: str, kind: str) -> str:
    """``GamGam.data``, ``4lep.mc``..."""
    return f"{collection}.{kind}"


def container_name(collection: str) -> str:
    return collection


def user_scope(account: str) -> str:
    return f"user.{account}"


def default_user_account(os_user: str | None = None) -> str:
    """The lake's user account: the OS user name, or ``student`` when that is ``root`` or is not a
    valid Rucio account name (lower-case letters, digits, '-', '_'; at most 20 characters)."""
    if os_user is None:
        try:
            os_user = getpass.getuser()
        except (KeyError, OSError):
            os_user = ""
    if os_user == "root" or not _ACCOUNT_RE.match(os_user):
        return FALLBACK_USER
    return os_user


def valid_account(name: str) -> bool:
    return bool(_ACCOUNT_RE.match(name)) and name != "root"
