"""The executors' pure parts: a bunch's order of operations (from C), the transfers of one explicit
call, the memory plan's errors and its scratch, and which memory error each mode raises."""

import pytest

import dnn
from dnn.executors import Move, bunch_ops, flat_call_transfers
from dnn.network import Arch, Network
from dnn.offload import lib
from dnn.trainer import Config, Trainer

FETCH, FWD, LOSS, BWD, UPD = (lib.DNN_OP_FETCH, lib.DNN_OP_FORWARD, lib.DNN_OP_LOSS, lib.DNN_OP_BACKWARD,
                              lib.DNN_OP_UPDATE)


def test_a_bunch_runs_fetch_forward_loss_backward_update():
    assert bunch_ops(3) == ((FETCH, 0), (FWD, 0), (FWD, 1), (FWD, 2), (LOSS, 0), (BWD, 2), (BWD, 1), (BWD, 0),
                            (UPD, 0), (UPD, 1), (UPD, 2))
    assert bunch_ops(1) == ((FETCH, 0), (FWD, 0), (LOSS, 0), (BWD, 0), (UPD, 0))


NET = ("params", "grads", "moment", "acts", "errs")
COPY_NET = [Move(a, "inout", True, True) for a in ("struct",) + NET]
RESIDENT_NET = [Move(b, "nocopy", False, False) for b in NET]
STRUCT_IN, STRUCT_KEPT = Move("struct", "in", False, False), Move("struct", "nocopy", False, False)


def rows(direction, alloc_if, free_if):
    return [Move("x", direction, alloc_if, free_if), Move("y", direction, alloc_if, free_if)]


COUNTS = [Move("counts", "inout", True, True)]

# (what, layer, policy, staged, counts) -> the transfers, in order. Two weight layers.
TABLE = [
    ((lib.DNN_TRAIN_CHUNK, 0, "copy", False, False), COPY_NET + rows("in", True, True)),
    ((lib.DNN_TRAIN_BUNCH, 0, "copy", False, False), COPY_NET + rows("in", True, True)),
    ((FWD, 1, "copy", False, False), COPY_NET + rows("in", True, True)),
    ((lib.DNN_EVAL_CHUNK, 0, "copy", False, True), COPY_NET + rows("in", True, True) + COUNTS),
    ((lib.DNN_TRAIN_CHUNK, 0, "copy", True, False), COPY_NET + rows("nocopy", False, True)),
    ((lib.DNN_TRAIN_CHUNK, 0, "resident", False, False), [STRUCT_IN] + RESIDENT_NET + rows("in", True, True)),
    ((lib.DNN_TRAIN_CHUNK, 0, "resident", True, False), [STRUCT_IN] + RESIDENT_NET + rows("nocopy", False, True)),
    ((lib.DNN_TRAIN_BUNCH, 0, "resident", False, False), [STRUCT_IN] + RESIDENT_NET + rows("in", True, True)),
    ((lib.DNN_EVAL_CHUNK, 0, "resident", False, True), [STRUCT_IN] + RESIDENT_NET + rows("in", True, True) + COUNTS),
    # op granularity, resident: the rows come with the fetch and stay until the last update
    ((FETCH, 0, "resident", False, False), [STRUCT_IN] + RESIDENT_NET + rows("in", True, False)),
    ((FWD, 0, "resident", False, False), [STRUCT_KEPT] + RESIDENT_NET + rows("nocopy", False, False)),
    ((LOSS, 0, "resident", False, False), [STRUCT_KEPT] + RESIDENT_NET + rows("nocopy", False, False)),
    ((BWD, 0, "resident", False, False), [STRUCT_KEPT] + RESIDENT_NET + rows("nocopy", False, False)),
    ((UPD, 0, "resident", False, False), [STRUCT_KEPT] + RESIDENT_NET + rows("nocopy", False, False)),
    ((UPD, 1, "resident", False, False), [STRUCT_KEPT] + RESIDENT_NET + rows("nocopy", False, True)),
]


@pytest.mark.parametrize("call,expected", TABLE, ids=[f"{c[0]}-{c[1]}-{c[2]}{'-staged' if c[3] else ''}"
                                                      for c, _ in TABLE])
def test_transfers_of_one_explicit_call(call, expected):
    what, layer, policy, staged, counts = call
    assert flat_call_transfers(what, layer, 2, policy, staged=staged, counts=counts) == expected


def test_the_plan_says_what_is_wrong():
    with pytest.raises(dnn.DnnValueError, match="^the output layer needs at least 2 classes$"):
        Network.plan(Arch((5, 1)), 4)
    with pytest.raises(dnn.DnnValueError, match="^bunch must be positive, got 0$"):
        Network.plan(Arch((5, 3)), 0)


def test_the_loss_scratch_is_carved_after_the_activations():
    bunch = 10
    _, layout = Network.plan(Arch((5, 7, 3)), bunch)
    last_act_end = layout.y_off[2] + bunch * 3
    assert layout.loss_off >= last_act_end
    assert layout.acts >= layout.loss_off + 2 * bunch + (bunch + 3) // 4  # a double and a byte per row
    assert layout.loss_off % 16 == 0  # 64-byte aligned, so the doubles are


@pytest.mark.parametrize("mode,error", [("host", dnn.HostMemoryError), ("explicit", dnn.HostMemoryError),
                                        ("implicit", dnn.ArenaFullError)])
def test_only_implicit_mode_names_the_arena_when_memory_is_short(mode, error):
    arch = Arch.parse("64-100000-100000-10")  # 10^10 weights: more than this machine holds
    with pytest.raises(MemoryError, match="do not fit in memory") as info:
        Trainer(Config(arch, mode=mode), 64, 10)
    assert type(info.value) is error
