"""Caveats in Vietnamese: the estimators' and the inference's warnings, as officials read them.

The methods write their caveats in English (they are a library, read by analysts too); every
page an official reads shows them in Vietnamese first, English second. :func:`vietnamese`
translates the caveats the methods write, by pattern, keeping their numbers (in Vietnamese
forms). A caveat without a translation is never dropped: it is shown in English with a
Vietnamese note saying so — and a test lists the methods' caveats so that a new one is
noticed.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from evaluation import formats as fmt

__all__ = ["CATALOGUE", "vietnamese"]


def _p(text: str) -> str:
    return fmt.pvalue(float(text))


def _situation(text: str) -> str:
    m = re.fullmatch(r"with (\d+) treated of (\d+) units", text)
    if m:
        return f"với {m[1]} phường triển khai trong tổng số {m[2]} phường"
    m = re.fullmatch(r"with (\d+) periods?", text)
    if m:
        return f"với {m[1]} kỳ số liệu"
    return f"({text})"


#: (pattern of the English caveat, its Vietnamese from the match)
CATALOGUE: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = tuple(
    (re.compile(p, re.S), f)
    for p, f in (
        (
            r"This design cannot reach the (\d+)% significance level: (.+?), even the strongest "
            r"possible result has p = ([\d.]+)\.",
            lambda m: (
                f"Thiết kế này không thể đạt mức ý nghĩa {m[1]}%: {_situation(m[2])}, ngay cả "
                f"kết quả mạnh nhất cũng chỉ có p = {_p(m[3])}. Kết quả «không có ý nghĩa thống "
                "kê» ở đây không phải bằng chứng là không có tác động. Muốn có bằng chứng mạnh "
                "hơn cần nhiều phường triển khai hơn (nhân rộng), chuỗi số liệu trước khi bắt "
                "đầu dài hơn, hoặc kỳ ngắn hơn (tuần thay vì tháng)."
            ),
        ),
        (
            r"(\d+) rows of units or periods with only zero counts were dropped",
            lambda m: (
                f"{m[1]} dòng (phường hoặc kỳ) chỉ toàn số 0 đã được bỏ ra: chúng không mang "
                "thông tin trong mô hình Poisson có hiệu ứng cố định."
            ),
        ),
        (
            r"No never-treated units: the last cohort \((.+?)\) serves as the comparison group "
            r"and periods from (.+?) on are not used",
            lambda m: (
                f"Không có phường nào không triển khai: đợt cuối cùng (bắt đầu {m[1]}) làm nhóm "
                f"so sánh, nên các kỳ từ {m[2]} trở đi không được dùng."
            ),
        ),
        (
            r"The joint pre-trend test is not computed",
            lambda m: (
                "Không tính được kiểm định chung về xu hướng trước khi triển khai (nhiều ô số "
                "liệu trước triển khai hơn số phường); hãy xem các ước lượng trước triển khai "
                "theo từng kỳ."
            ),
        ),
        (
            r"Treatment starts at (\d+) different times",
            lambda m: (
                f"Các phường bắt đầu vào {m[1]} thời điểm khác nhau: nếu tác động khác nhau giữa "
                "các đợt hoặc tăng dần theo thời gian, TWFE trộn vào các so sánh với phường đã "
                "triển khai và có thể bị lệch (Goodman-Bacon 2021); hãy so sánh với phương pháp "
                "Callaway & Sant'Anna và phân rã Bacon."
            ),
        ),
        (
            r"Staggered adoption: with effects that differ by cohort",
            lambda m: (
                "Các phường bắt đầu vào những thời điểm khác nhau: nếu tác động khác nhau giữa "
                "các đợt, hệ số nghiên cứu sự kiện TWFE có thể trộn tác động của các kỳ khác "
                "(Sun & Abraham 2021); hãy so sánh với Callaway & Sant'Anna theo thời gian."
            ),
        ),
        (
            r"(\d+) ATT\(g,t\) have no comparison units",
            lambda m: f"{m[1]} ô tác động (đợt × kỳ) không có phường so sánh nên bị bỏ trống.",
        ),
        (
            r"(\d+) unit\(s\) not observed in every period were dropped",
            lambda m: (
                f"{m[1]} phường không có số liệu ở mọi kỳ đã được bỏ ra để bảng số liệu đầy đủ."
            ),
        ),
        (
            r"Some cohorts or the never-treated group have a single unit",
            lambda m: (
                "Có đợt (hoặc nhóm không triển khai) chỉ gồm một phường: sai số chuẩn tính theo "
                "công thức không đáng tin cậy."
            ),
        ),
        (
            r"No treated observations at event time\(s\) (.+?);",
            lambda m: f"Không có số liệu triển khai ở các kỳ {m[1]}; các hệ số đó không ước lượng.",
        ),
        (
            r"The placebo standard error rests on only (\d+) placebo estimates",
            lambda m: (
                f"Sai số chuẩn giả dược chỉ dựa trên {m[1]} ước lượng giả dược nên chính nó cũng "
                "kém chính xác."
            ),
        ),
        (
            r"The jackknife with only (\d+) treated units can be unreliable",
            lambda m: (
                f"Phương pháp jackknife với chỉ {m[1]} phường triển khai có thể không tin cậy."
            ),
        ),
        (
            r"(\d+) cohort × period cells had no count at all",
            lambda m: (
                f"{m[1]} ô (đợt × kỳ) không có vụ nào: tác động riêng của từng ô đó là giảm "
                "100 % (không có ước lượng hữu hạn); chúng vẫn được tính vào mức trung bình, số "
                "quan sát bằng 0 so với số dự kiến nếu không có mô hình."
            ),
        ),
        (
            r"(\d+) cohorts had no count at all before their start",
            lambda m: (
                f"{m[1]} đợt không có vụ nào trước ngày bắt đầu nên được bỏ ra: không có mức "
                "trước đó thì không đo được thay đổi."
            ),
        ),
        (
            r"In (\d+) periods the units not yet treated had no count at all",
            lambda m: (
                f"Trong {m[1]} kỳ, các phường chưa triển khai không có vụ nào: số vụ dự kiến của "
                "các phường đã triển khai trong các kỳ đó nếu không có mô hình bằng 0, số vụ quan "
                "sát được vẫn được tính và so với mức 0 đó."
            ),
        ),
        (
            r"No confidence interval: the randomization interval of the ETWFE",
            lambda m: (
                "Không có khoảng tin cậy: khoảng tin cậy hoán vị của mô hình ETWFE cần bảng số "
                "liệu đầy đủ mọi phường và mọi kỳ, không có biến kiểm soát; chỉ có giá trị p."
            ),
        ),
        (
            r"No confidence interval: the randomization interval of the Poisson model",
            lambda m: (
                "Không có khoảng tin cậy: khoảng tin cậy hoán vị của mô hình Poisson cần bảng số "
                "liệu đầy đủ mọi phường và mọi kỳ."
            ),
        ),
        (
            r"(\d+)% of the TWFE weight is on comparisons that use already-treated units",
            lambda m: (
                f"{m[1]}% trọng số của TWFE nằm ở các so sánh dùng phường đã triển khai làm nhóm "
                "đối chứng; nếu tác động thay đổi theo thời gian, các so sánh này làm TWFE lệch."
            ),
        ),
        (
            r"The conformal test finds no single constant effect",
            lambda m: (
                "Kiểm định conformal không tìm được một mức tác động cố định phù hợp với mọi kỳ "
                "sau khi bắt đầu (tác động thay đổi theo thời gian): không nêu khoảng tin cậy."
            ),
        ),
        (
            r"inference='(\w+)' was requested, but this design does not support it",
            lambda m: (
                f"Phương pháp suy luận «{m[1]}» được yêu cầu nhưng không hợp với thiết kế này: "
                "giá trị p và khoảng tin cậy có thể gây hiểu sai."
            ),
        ),
    )
)


def vietnamese(caveat: str) -> str:
    """The Vietnamese of one caveat; an untranslated one is marked as English, never lost."""
    for pattern, translate in CATALOGUE:
        m = pattern.search(caveat)
        if m:
            return translate(m)
    return f"(Lưu ý kỹ thuật, chưa có bản tiếng Việt) {caveat}"
