"""How a finding's question, method, design and window are worded, in Vietnamese and English.

The verdict's own sentence is :mod:`evaluation.analysis.verdict`'s; these are the words around it:
which way an indicator should move, the model and the inference behind a number, and the
comparison window a single ward is judged on.
"""

from __future__ import annotations

from evaluation import formats as fmt
from evaluation.analysis.outcomes import outcome_info
from evaluation.analysis.windows import (
    Indicator,
)


def direction_words(outcome: str) -> tuple[str, str]:
    return ("giảm", "reduce") if outcome_info(outcome).lower_is_better else ("tăng", "raise")


def inference_words(est) -> tuple[str, str]:
    m = est.inference_method if est is not None else ""
    return {
        "conformal": (
            "hoán vị theo thời gian (suy luận conformal)",
            "permuting time (conformal inference)",
        ),
        "randomization": (
            "hoán vị phường được triển khai (suy luận ngẫu nhiên hóa)",
            "permuting which wards are treated (randomization inference)",
        ),
        "wild": ("bootstrap cụm (wild bootstrap)", "wild cluster bootstrap"),
        "cluster": ("sai số chuẩn theo cụm", "cluster-robust standard errors"),
        "analytic": ("sai số chuẩn giải tích", "analytic standard errors"),
    }.get(m, ("—", "—"))


def model_words(ind: Indicator) -> tuple[str, str]:
    if ind.family == "poisson":
        return (
            "mô hình Poisson với hiệu ứng cố định phường và kỳ, dân số làm mẫu số",
            "Poisson model with ward and period fixed effects and population exposure",
        )
    if ind.weights:
        return (
            "sai khác kép với hiệu ứng cố định phường và kỳ, trọng số là số vụ án",
            "difference-in-differences with ward and period effects, weighted by cases",
        )
    return (
        "sai khác kép với hiệu ứng cố định phường và kỳ (TWFE)",
        "difference-in-differences with ward and period fixed effects (TWFE)",
    )


def method_words(ind: Indicator, est, prefix=("", "")) -> tuple[str, str]:
    mvi, men = model_words(ind)
    ivi, ien = inference_words(est)
    return f"{prefix[0]}{mvi}; {ivi}", f"{prefix[1]}{men}; {ien}"


def names_text(wards) -> str:
    return ", ".join(wards) if wards else "—"


def comparison_words(comparison, outside=()) -> tuple[str, str]:
    """ "the 12 wards not yet treated (…) and 5 wards of neighbouring districts that never took
    the programme (…)", in both languages: comparison wards from outside the district are
    named apart, so that a reader knows where they come from."""
    inside = [w for w in comparison if w not in set(outside)]
    beyond = [w for w in comparison if w in set(outside)]
    vi, en = [], []
    if inside:
        vi.append(f"{len(inside)} phường chưa triển khai ({names_text(inside)})")
        en.append(f"the {len(inside)} wards not yet treated ({names_text(inside)})")
    if beyond:
        vi.append(
            f"{len(beyond)} phường giáp ranh thuộc quận khác, không triển khai mô hình "
            f"({names_text(beyond)})"
        )
        en.append(
            f"{len(beyond)} wards of neighbouring districts that never took the programme "
            f"({names_text(beyond)})"
        )
    return " và ".join(vi) or "—", " and ".join(en) or "—"


def window_words(win, ind: Indicator, outside=()) -> tuple[str, str]:
    comp_vi, comp_en = comparison_words(win.comparison, outside)
    vi = (
        f"Phường {win.ward} (bắt đầu {fmt.date_text(win.start)}) so với {comp_vi}, từ đầu chuỗi "
        f"số liệu đến {fmt.date_text(win.end)}"
        + (
            f" — chỉ giữ {win.n_post} {ind.period_vi} sau khi bắt đầu, bằng số {ind.period_vi} "
            "trước đó, để phép hoán vị theo thời gian (suy luận conformal) hợp lệ"
            if win.cut
            else (" — trước khi đợt tiếp theo bắt đầu" if win.next_start is not None else "")
        )
        + f"; {win.n_pre} {ind.period_vi} trước và {win.n_post} {ind.period_vi} sau khi bắt đầu."
    )
    en = (
        f"{win.ward} (started {fmt.date_text(win.start)}) against {comp_en}, from the start of "
        f"the data to {fmt.date_text(win.end)}"
        + (
            f" — keeping {win.n_post} {ind.period_en}s after the start, as many as before it, "
            "so that permuting time (conformal inference) is valid"
            if win.cut
            else (", before the next wave started" if win.next_start is not None else "")
        )
        + f"; {win.n_pre} {ind.period_en}s before and {win.n_post} after the start."
    )
    return vi, en


def notes_vi(win) -> list[str]:
    return (
        [
            "Các phường đối chứng giáp ranh phường đã triển khai có thể được hưởng lợi gián tiếp "
            "(lan tỏa), khi đó ước lượng nhỏ hơn tác động thật; xem kiểm tra «loại phường giáp ranh»."
        ]
        if win.comparison
        else []
    )


def notes_en(win) -> list[str]:
    return (
        [
            "Comparison wards bordering treated wards may benefit indirectly (spill-over), which "
            "makes the estimate smaller than the true effect; see the check without bordering wards."
        ]
        if win.comparison
        else []
    )
