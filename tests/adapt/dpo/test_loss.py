"""DPO's loss, rewards and accuracies against formulas worked out independently, on a real tiny model."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from olmo_core.model_io import load_model

from olmo_adapt.datasets import load_pairs
from olmo_adapt.dpo.data import Pair, collate_pairs, tokenize_pairs
from olmo_adapt.dpo.objective import DPOObjective
from olmo_adapt.dpo.reference import reference_logps
from olmo_adapt.examples import Skips
from olmo_core.chat_template import TuluTemplate
from tests.adapt.conftest import make_checkpoint

BETA = 0.1


def _records(template: TuluTemplate) -> list[dict]:
    """Six built-in pairs whose prompts fit in half of 96 tokens (not truncated), with answers that are."""
    short = [r for r in load_pairs("dpo_en_demo") if len(template.encode(r["prompt"]).ids) <= 48]
    return short[:6]


@pytest.fixture(scope="module")
def pairs(template: TuluTemplate) -> list[Pair]:
    return tokenize_pairs(_records(template), template, max_length=96, overlong="truncate", skips=Skips())


@pytest.fixture(scope="module")
def models(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[torch.nn.Module, torch.nn.Module]:
    other = make_checkpoint(tmp_path_factory.mktemp("ref") / "ref", seed=1)
    return load_model(tiny_checkpoint).model.eval(), load_model(other).model.eval()


def _objective_metrics(policy: torch.nn.Module, reference: torch.Tensor, pairs: list[Pair], *, loss: str,
                       beta: float) -> dict[str, float]:
    objective = DPOObjective(loss=loss, beta=beta)
    objective.reference = reference
    batch = collate_pairs(pairs, pad_id=1)
    normalizer = objective.normalizer(batch)
    totals: dict[str, float] = {}
    with torch.no_grad():
        for micro in objective.micro_batches(batch, 4):
            _, sums = objective.loss(policy, micro, normalizer)
            for key, value in sums.items():
                totals[key] = totals.get(key, 0.0) + float(value)
    return objective.metrics(totals, float(normalizer))


def _answer_logp(model: torch.nn.Module, template: TuluTemplate, messages: list[dict], max_length: int) -> tuple[float, int]:
    """log p(answer | prompt) in float64 from the unpadded sequence, the answer located by the template's span."""
    encoded = template.encode(messages)
    ids = encoded.ids[:max_length]
    start = encoded.spans[-1][0]
    with torch.no_grad():
        logp = torch.log_softmax(model(torch.tensor([ids]))[0].double(), dim=-1)
    positions = range(start, len(ids))
    return sum(float(logp[t - 1, ids[t]]) for t in positions), len(positions)


def test_loss_is_ln2_and_rewards_zero_when_the_policy_is_the_reference(models: tuple, pairs: list[Pair]) -> None:
    policy, _ = models
    table = reference_logps(policy, pairs, rows=4, pad_id=1, device=torch.device("cpu"))
    for loss in ("dpo", "dpo_norm"):
        metrics = _objective_metrics(policy, table, pairs, loss=loss, beta=BETA)
        assert metrics["loss"] == pytest.approx(math.log(2), abs=1e-7)
        assert metrics["rewards/chosen"] == metrics["rewards/rejected"] == metrics["rewards/margins"] == 0.0
        assert metrics["rewards/accuracies"] == 0.0


@pytest.mark.parametrize("loss", ["dpo", "dpo_norm", "ipo"])
def test_loss_rewards_and_accuracies_match_the_formulas(models: tuple, pairs: list[Pair], template: TuluTemplate,
                                                        loss: str) -> None:
    policy, reference = models
    table = reference_logps(reference, pairs, rows=4, pad_id=1, device=torch.device("cpu"))
    got = _objective_metrics(policy, table, pairs, loss=loss, beta=BETA)
    records = _records(template)
    losses, chosen_rewards, rejected_rewards = [], [], []
    for record in records:
        sides = []
        for answer in ("chosen", "rejected"):
            messages = record["prompt"] + record[answer]
            (pi, n), (ref, _) = (_answer_logp(m, template, messages, 96) for m in (policy, reference))
            sides.append((pi - ref) / (n if loss != "dpo" else 1))
        z = sides[0] - sides[1]
        losses.append((z - 1 / (2 * BETA)) ** 2 if loss == "ipo" else math.log1p(math.exp(-BETA * z)))
        chosen_rewards.append(BETA * sides[0])
        rejected_rewards.append(BETA * sides[1])
    n = len(records)
    expected = {"loss": sum(losses) / n, "rewards/chosen": sum(chosen_rewards) / n,
                "rewards/rejected": sum(rejected_rewards) / n,
                "rewards/margins": sum(c - r for c, r in zip(chosen_rewards, rejected_rewards, strict=True)) / n,
                "rewards/accuracies": sum(c > r for c, r in zip(chosen_rewards, rejected_rewards, strict=True)) / n}
    print(loss, {k: round(v, 6) for k, v in expected.items()})
    assert len(pairs) == n
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, abs=1e-5), key
    assert 0 < expected["rewards/accuracies"] < 1
