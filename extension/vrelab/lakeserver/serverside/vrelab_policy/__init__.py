"""The embedded lake's Rucio policy package: Rucio's generic policy, plus what users of real
data lakes (ATLAS, ESCAPE) may do and the generic policy forbids: delete their own replication
rules and change their lifetime. Loaded by the server and daemons through ``[policy] package``.
"""

SUPPORTED_VERSION = [">=41", "<42"]
