"""Check the complexity router against the realistic-traffic set (tests/support/realistic_traffic.py).

Prints per-category tier accuracy and every misroute with its score, shape and top reasons. The set is a check,
never training data and never used for selection.

    python scripts/check_router_traffic.py [--weights path/to/complexity_router.npz]
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO))

from tests.support.realistic_traffic import realistic_requests  # noqa: E402

from homily.embeddings import load_local_embedder  # noqa: E402
from homily.routing.learned import ComplexityModel  # noqa: E402
from homily.routing.signals import ConversationFacts  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, default=None)
    args = parser.parse_args()
    model = ComplexityModel.load(args.weights)
    requests = realistic_requests()
    embeddings = load_local_embedder().embed([request.text for request in requests])
    right: dict[str, list[bool]] = defaultdict(list)
    for request, embedding in zip(requests, embeddings, strict=True):
        estimate = model.estimate(request.text, ConversationFacts(user_turns=request.user_turns), embedding)
        right[request.category].append(estimate.tier == request.tier)
        if estimate.tier != request.tier:
            print(f"MISROUTE {request.category} want {request.tier} got {estimate.tier} score {estimate.score:.3f} "
                  f"{estimate.reasons}: {request.text[:90]}")
    total = [ok for oks in right.values() for ok in oks]
    for category, oks in right.items():
        print(f"{category:14s} {sum(oks):3d}/{len(oks):3d}")
    print(f"{'all':14s} {sum(total):3d}/{len(total):3d} ({sum(total) / len(total):.1%})")


if __name__ == "__main__":
    main()
