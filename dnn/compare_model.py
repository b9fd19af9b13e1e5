"""dnn.compare's performance model report: the runs on one card as the model's Runs, its fit, its
error on the throttled-link runs and on held-out configurations beside naive baselines, and its
predictions for links not run."""

from __future__ import annotations

import os

import numpy as np

from .compare_heldout import held_out_lines, median_machine, repeat_spread
from .network import Arch
from .perfmodel import Model, Run, held_out_errors, mean_abs_error


def on_one_card(rows: list[dict]) -> list[dict]:
    """The bunch runs on exactly one card: what the modes are compared on and the model is fitted to
    (several cards are compared with one card instead: see several_cards; CHAOS runs train image by
    image, which the model of bunches does not describe)."""
    return [r for r in rows if r["mode"] != "host" and r.get("cards", 1) == 1 and not r.get("workers")]


def to_run(r: dict, arch: Arch) -> Run:
    # MYO moves pages: each card fault fetches a run of them in one transfer on the link (their
    # bytes are in the totals already); its copies' real time is the coherence time.
    pages = r.get("myo_pages_to_card", 0) + r.get("myo_pages_from_card", 0)
    runs = r.get("myo_faults_card", 0)
    return Run(arch=r["arch"], threads=r["threads"], flops=arch.flops_per_image() * r["images"],
               calls=r["offload_calls"], chunks=r["chunks"], transfers=r["transfers"] + runs,
               bytes=r["bytes_to_card"] + r["bytes_from_card"], wall_s=r["wall_s"],
               compute_s=r["compute_s"], transfer_real_s=r["transfer_real_s"] + r.get("coherence_s", 0.0),
               transfer_s=r["transfer_s"], bunches=0 if r["granularity"] == "chunk" else -(-r["images"] // r["bunch"]),
               link=r["link"] if r["link"] != "-" else "none", mode=r["mode"], granularity=r["granularity"],
               overlap=r["mode"] == "explicit-overlap", myo_pages=pages)


def model_report(reps, arch, predict_links, predict_threads, machines=None, load=None):
    """The model's text: its fit, its error on the throttled runs beside the naive twin guess, and
    its error on held-out configurations beside the naive baseline, as the median over the
    repetitions `reps` (each a list of result rows). machines: the costs measured on the machine
    after each repetition (dnn.perfmodel_probe), which the held-out fits take as known; load: the
    load average when the runs started."""
    results = reps[0]
    runs = [to_run(r, arch) for r in on_one_card(results)]
    fit_on = [r for r in runs if r.link == "none"]
    if not fit_on:
        return "No none-link runs to fit the model on.", None
    model = Model.fit(fit_on)
    lines = [f"Fitted on {len(fit_on)} none-link runs on one card: call overhead {model.call_s * 1e6:.1f} us, per-chunk host "
             f"time {model.chunk_s * 1e3:.2f} ms, channel copies {model.copy_fixed_s * 1e6:.1f} us per array + "
             f"{model.copy_bps / 1e9:.2f} GB/s, compute "
             + ", ".join(f"{rate / 1e9:.1f} GFLOP/s ({m}/{g}, {t} thr)" for (_, t, m, g), rate in model.rate.items()) + "."]
    if load is not None:
        lines.append(f"Load average {load:.2f} on {os.cpu_count()} CPU(s) when the runs started"
                     + (": other work shared the CPUs, so the same run's time varies between repetitions."
                        if load > 0.5 * (os.cpu_count() or 1) else "."))
    twins = [_twin_errors(rep, arch) for rep in reps]
    twins = [t for t in twins if t]
    if twins:
        model_err, naive_err = np.median([t[0] for t in twins]), np.median([t[1] for t in twins])
        lines.append(f"Throttled-link runs predicted from their own none-link twins (median of {len(twins)}): mean "
                     f"absolute error {100 * model_err:.1f}% of wall time, naive 'same time as the twin' "
                     f"{100 * naive_err:.1f}%. The twin gives each run its compute rate, so this tests the link term only.")
    machine = median_machine(machines)
    held = [held_out_errors([to_run(r, arch) for r in on_one_card(rep)], machine) for rep in reps]
    if held and held[0]:
        lines += held_out_lines(held, machine, repeat_spread([on_one_card(rep) for rep in reps]))
    elif fit_on:
        lines.append("No held-out configuration: run at least two granularities or modes to test the model.")
    for link in predict_links:
        lines.append(f"\nPredicted on {link}:")
        for r, res in zip(runs, on_one_card(results)):
            if r.link != "none":
                continue
            pr = model.predict(r, link=link, threads=predict_threads)
            lines.append(f"- {res['mode']}/{res['granularity']}: {pr['wall_s']:.2f} s (compute {pr['compute_s']:.2f}, "
                         f"transfer {pr['transfer_s']:.2f}, calls/host {pr['overhead_s']:.2f})")
    return "\n".join(lines), model


def _twin_errors(results, arch):
    """(model, naive) mean absolute error on the throttled runs of one repetition, the model
    fitted on its none-link runs; None when there are none."""
    runs = [to_run(r, arch) for r in on_one_card(results)]
    fit_on = [r for r in runs if r.link == "none"]
    twin = {(r.mode, r.granularity): r for r in fit_on}
    check = [r for r in runs if r.link != "none" and (r.mode, r.granularity) in twin]
    if not (fit_on and check):
        return None
    naive = float(np.mean([abs(twin[(r.mode, r.granularity)].wall_s - r.wall_s) / r.wall_s for r in check]))
    return mean_abs_error(Model.fit(fit_on), check), naive
