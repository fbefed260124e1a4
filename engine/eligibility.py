"""Which blocks may be shown to a prospect at all. The contract's rules are absolute: every
score is computed only over the blocks this module lets through.

- only `approved` blocks whose `expires` is not before the as-of date;
- a block whose `competitor` facet is set only for a prospect whose competitor it names.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from engine.library import Block
from engine.prospect import Prospect
from engine.table import BlockTable, Mask

COMPETITOR = "competitor"


def eligible(table: BlockTable, prospect: Prospect, as_of: dt.date) -> Mask:
    """One boolean per block of the table: may it be shown to this prospect on this date?"""
    competitor = table.facet(COMPETITOR)
    allowed_rival = ~competitor.present | competitor.naming(prospect.facet(COMPETITOR))
    return table.approved & (table.expires >= as_of.toordinal()) & allowed_rival


def is_eligible(block: Block, prospect: Prospect, as_of: dt.date) -> bool:
    """The same rule for a single block (reports, checks), from the one implementation above."""
    table = BlockTable.build([block], vectors=np.zeros((1, 0), dtype=np.float32))
    return bool(eligible(table, prospect, as_of)[0])
