"""The review sheet (审核结果): layout, explanations kept across runs, lossless surgical write-back."""
from __future__ import annotations

import difflib
import io
import re
import shutil
import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from lxml import etree

from fixtures_office import add_comment, filled_workbook, office_workbook, xlwings_quickstart
from xlcheck import TEMPLATE_VERSION
from xlcheck.explanations import read_explanations
from xlcheck.findings import Finding
from xlcheck.reader import read_workbook
from xlcheck.review import (HEADERS, REVIEW_SHEET, STYLES, WriteError, read_notes, review_layout,
                            write_review)
from xlcheck.results import FileResult

NOW = datetime(2024, 5, 6, 9, 30)


def err(**kw):
    d = dict(rule="ARI002", severity="error", sheet="基本信息", cell="B23", field="budget_adjust_rate",
             message="预算调整率填报为 0.00%，按调整数 0.21 万元 / 年初预算 417.82 万元计算应为 0.05%",
             value="0.00%", expected="0.05%")
    d.update(kw)
    return Finding(**d)


def warn(**kw):
    d = dict(rule="EXP001", severity="warning", sheet="绩效指标", cell="J5", field="indicators.完成率", row=2,
             message="指标“举办活动场次”完成率 85.00% 低于 100%，须填写偏差原因", value="85.00%", expected="100%")
    d.update(kw)
    return Finding(**d)


def info(**kw):
    d = dict(rule="TXT009", severity="info", message="自评结论未写明自评等级", sheet=None, cell=None)
    d.update(kw)
    return Finding(**d)


def annotated(path, findings, **kw) -> FileResult:
    """result() after the runner has judged the 填报单位说明 already in the file (apply_notes)."""
    from xlcheck.rules import load_checks
    from xlcheck.runner import apply_notes
    findings = list(findings)
    apply_notes(findings, read_explanations(read_workbook(path)), load_checks())
    return result(path, findings, **kw)


def result(path, findings, **kw) -> FileResult:
    r = FileResult(str(path), "fail", list(findings), department=kw.get("department", "广州市某区工商业联合会"),
                   year=kw.get("year", 2024), template_version=kw.get("template_version", TEMPLATE_VERSION))
    r.settle()
    return r


def table_rows(sheet, header_row=None):
    """Values of the findings table rows (dicts by header) of a ReviewSheet."""
    h = header_row or sheet.header_row
    out = []
    for r in range(h + 1, sheet.max_row + 1):
        row = sheet.cells.get(r, {})
        if 1 in row and isinstance(row[1].value, int):
            out.append({HEADERS[c - 1]: cell.value for c, cell in row.items()})
        elif r > h + 1 and 1 not in row:
            break
    return out


def review_values(path) -> list[tuple]:
    wb = openpyxl.load_workbook(path)
    ws = wb[REVIEW_SHEET]
    return [tuple(r) for r in ws.iter_rows(values_only=True)]


def find_header(rows, start=0):
    for i in range(start, len(rows)):
        if rows[i] and "规则" in rows[i] and "填报单位说明" in rows[i]:
            return i
    raise AssertionError("no header row")


def type_explanation(path, rule, text):
    """What a filler does in Excel: type into 填报单位说明 of the row of `rule`, save (openpyxl)."""
    keep_vba = str(path).endswith(".xlsm")
    wb = openpyxl.load_workbook(path, keep_vba=keep_vba)
    ws = wb[REVIEW_SHEET]
    head = None
    for row in ws.iter_rows():
        vals = [c.value for c in row]
        if "规则" in vals and "填报单位说明" in vals:
            head = {v: i for i, v in enumerate(vals)}
            continue
        if head and row[head["规则"]].value == rule:
            row[head["填报单位说明"]].value = text
            break
    else:
        raise AssertionError(f"no row for {rule}")
    wb.save(path)


# ------------------------------------------------------------------------------------------- layout

def test_layout_columns_order_states_and_styles(tmp_path):
    res = result(tmp_path / "a.xlsx", [info(), warn(), err()])
    sh = review_layout(res, {}, now=NOW)
    head = sh.cells[sh.header_row]
    assert [head[c].value for c in range(1, len(HEADERS) + 1)] == list(HEADERS)
    assert HEADERS[-1] == "定位" and sh.columns[-1].hidden
    assert HEADERS[:10] == ("序号", "级别", "规则", "工作表", "单元格", "问题描述", "填报值", "计算值或期望值",
                            "填报单位说明", "状态")
    rows = table_rows(sh)
    assert [r["级别"] for r in rows] == ["错误", "警告", "提示"]          # errors first
    assert [r["状态"] for r in rows] == ["待修改", "待说明", "待说明"]
    assert [r["序号"] for r in rows] == [1, 2, 3]
    assert rows[0]["定位"] == "budget_adjust_rate" and rows[1]["定位"] == "indicators.完成率#2"
    assert rows[0]["填报值"] == "0.00%" and rows[0]["计算值或期望值"] == "0.05%"
    assert sh.status == "未通过" and sh.counts == {"error": 1, "warning": 1, "info": 1, "explained": 0}
    # header block: time, versions, conclusion, counts
    block = {sh.cells[r][1].value: sh.cells[r][3].value for r in range(2, 6)}
    assert block["审核结论"] == "未通过" and block["审核时间"] == "2024-05-06 09:30"
    assert block["模板版本"] == TEMPLATE_VERSION and block["xlcheck 版本"]
    counts = {sh.cells[r][7].value: sh.cells[r][8].value for r in range(2, 6)}
    assert counts == {"错误": 1, "警告": 1, "提示": 1, "已说明": 0}
    # hyperlink to the cell, none where there is no cell
    links = {a: loc for a, loc, _ in sh.links()}
    r0 = sh.header_row + 1
    assert links[f"E{r0}"] == "'基本信息'!B23" and f"E{r0 + 2}" not in links
    # colours: severities, the unlocked yellow input column
    st = sh.styles
    assert st[sh.cells[r0][6].style].fill == "FDE0E0"
    assert st[sh.cells[r0 + 1][6].style].fill == "FCE4D6"
    assert st[sh.cells[r0 + 2][6].style].fill == "DDEBF7"
    note = st[sh.cells[r0][9].style]
    assert note.fill == "FFF2CC" and not note.locked
    assert sh.autofilter == f"A{sh.header_row}:K{r0 + 2}" and sh.freeze_rows == sh.header_row


def test_layout_explanations_make_pass_and_gone_block(tmp_path):
    # the runner judged the note (apply_notes); the layout shows its verdict
    res = result(tmp_path / "a.xlsx", [warn(explained=True, explanation="受疫情影响，两场活动改为线上"), info()])
    notes = {("EXP001", "indicators.完成率", 2): "受疫情影响，两场活动改为线上",
             ("EXP001", "绩效指标", "J5"): "受疫情影响，两场活动改为线上",
             ("PTS009", "自评评分", "I6"): "按财政局口径计算"}        # finding no longer there
    sh = review_layout(res, notes, now=NOW)
    rows = table_rows(sh)
    assert rows[0]["状态"] == "已说明" and rows[0]["填报单位说明"] == "受疫情影响，两场活动改为线上"
    assert sh.status == "通过" and sh.counts["explained"] == 1
    assert STYLES[sh.cells[sh.header_row + 1][6].style].fill == "DCE6D9"      # grey-green
    assert sh.gone_header_row is not None
    gone = table_rows(sh, sh.gone_header_row)
    assert [(g["规则"], g["工作表"], g["单元格"], g["状态"], g["填报单位说明"]) for g in gone] == [
        ("PTS009", "自评评分", "I6", "已消除", "按财政局口径计算")]
    assert "已消除的问题" in sh.cells[sh.gone_header_row - 1][1].value
    # the grid reads back: both blocks, both keys
    back = read_notes({(r, c): cell.value for r, row in sh.cells.items() for c, cell in row.items()})
    assert back[("EXP001", "indicators.完成率", 2)] == "受疫情影响，两场活动改为线上"
    assert back[("PTS009", "自评评分", "I6")] == "按财政局口径计算"


def test_explanation_on_error_is_kept_but_does_not_pass(tmp_path):
    res = result(tmp_path / "a.xlsx", [err()])
    sh = review_layout(res, {("ARI002", "budget_adjust_rate", None): "已按要求修改"}, now=NOW)
    row = table_rows(sh)[0]
    assert row["状态"] == "待修改" and row["填报单位说明"] == "已按要求修改" and sh.status == "未通过"


def test_no_findings_layout(tmp_path):
    sh = review_layout(result(tmp_path / "a.xlsx", []), {}, now=NOW)
    assert sh.status == "通过" and table_rows(sh) == []
    assert any(c.value == "未发现问题。" for c in sh.cells[sh.header_row + 1].values())


def test_chinese_column_widths():
    long = "“绩效指标”第 12 行（指标方向 ≥）的完成率应由公式计算，现被手工填入 100%；按公式应为 100.00%。"
    res = result("a.xlsx", [warn(message=long, sheet="自评评分表（部门）")])
    sh = review_layout(res, {}, now=NOW)
    widths = {c.header: c.width for c in sh.columns}
    assert widths["工作表"] >= 2 * len("自评评分表") + 2       # ≈ 2 units per CJK character
    assert 36 <= widths["问题描述"] <= 60
    assert widths["计算值或期望值"] >= 14
    assert sh.row_heights[sh.header_row + 1] > 20               # wrapped message: a taller row


# ------------------------------------------------------------------------------------------- package helpers

def parts(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def entry_meta(path) -> dict[str, tuple]:
    """What an entry keeps besides its content: time stamp, compression method, order (zipfile
    gives entries without Unix permissions 0600, so external attributes are not compared)."""
    with zipfile.ZipFile(path) as z:
        return {i.filename: (n, i.date_time, i.compress_type) for n, i in enumerate(z.infolist())}


def review_part(path) -> str:
    from xml.etree.ElementTree import fromstring
    ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    rns = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
    with zipfile.ZipFile(path) as z:
        wb = fromstring(z.read("xl/workbook.xml"))
        rels = {r.get("Id"): r.get("Target") for r in fromstring(z.read("xl/_rels/workbook.xml.rels"))}
    for s in wb.iter(ns + "sheet"):
        if s.get("name") == REVIEW_SHEET:
            t = rels[s.get(rns + "id")]
            return t.lstrip("/") if t.startswith("/") else "xl/" + t
    raise KeyError(REVIEW_SHEET)


INSERT_ONLY = {"xl/workbook.xml", "xl/_rels/workbook.xml.rels", "[Content_Types].xml", "xl/styles.xml"}


# which sheet the workbook opens on: the writer moves it to the review sheet (test_copy_opens_on_review_sheet)
VIEW_ATTRS = ("activeTab", "firstSheet", "tabSelected")


def _canonical(xml: bytes) -> str:
    """The part's XML in canonical form (C14N: quoting, empty elements, entities, attribute order
    normalised), with list counts and the opening view blanked."""
    root = etree.fromstring(xml)
    for el in root.iter():
        if "count" in el.attrib:
            el.set("count", "")
        for a in VIEW_ATTRS:
            el.attrib.pop(a, None)
    return etree.tostring(root, method="c14n").decode("utf-8")


def assert_inserted_only(old: bytes, new: bytes, name: str) -> None:
    """`new` is `old` with elements inserted (list counts aside); nothing existing changed or removed."""
    a, b = _canonical(old), _canonical(new)
    ops = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    bad = [(t, a[i1:i2][:80], b[j1:j2][:80]) for t, i1, i2, j1, j2 in ops if t not in ("equal", "insert")]
    assert not bad, f"{name}: existing content changed: {bad[:3]}"


def assert_lossless(before: Path, after: Path, *, new_sheet: bool) -> None:
    pa, pb = parts(before), parts(after)
    review = review_part(after)
    assert zipfile.ZipFile(after).testzip() is None
    assert set(pb) - set(pa) == ({review} if new_sheet else set())
    assert set(pa) - set(pb) == set()
    ma, mb = entry_meta(before), entry_meta(after)
    for name in pa:
        if name == review or name in INSERT_ONLY:
            continue
        if pa[name] != pb[name] and name.startswith("xl/worksheets/"):
            # only the tab's selection may change (the copy opens on the review sheet)
            assert _canonical(pa[name]) == _canonical(pb[name]), f"{name} changed"
            continue
        assert pa[name] == pb[name], f"{name} changed"
        assert ma[name] == mb[name], f"{name}: time stamp, compression or order changed"
    for name in INSERT_ONLY:
        if pa.get(name) != pb.get(name):
            assert_inserted_only(pa[name], pb[name], name)


# ------------------------------------------------------------------------------------------- write-back

def test_copy_opens_on_review_sheet(tmp_path):
    """Issue 14 item 9: the annotated copy opens on 审核结果, as the add-in leaves the book."""
    src = filled_workbook(tmp_path / "a.xlsx")
    dst = tmp_path / "out" / "a.xlsx"
    dst.parent.mkdir()
    write_review(src, dst, result(src, [err()]), now=NOW)
    wb = openpyxl.load_workbook(dst)
    assert wb.active.title == REVIEW_SHEET
    assert [ws.title for ws in wb.worksheets if ws.sheet_view.tabSelected] == [REVIEW_SHEET]
    write_review(dst, dst, result(dst, [err()]), now=NOW)      # rewriting keeps it so
    assert openpyxl.load_workbook(dst).active.title == REVIEW_SHEET


def test_write_review_reads_back(tmp_path):
    src = filled_workbook(tmp_path / "a.xlsx")
    dst = tmp_path / "out" / "a.xlsx"
    dst.parent.mkdir()
    before = src.read_bytes()
    write_review(src, dst, result(src, [err(), warn(), info()]), now=NOW)
    assert src.read_bytes() == before
    wb = read_workbook(dst)
    assert REVIEW_SHEET in wb.sheets
    assert wb.sheets.index(REVIEW_SHEET) == read_workbook(src).sheets.index(REVIEW_SHEET)   # position kept
    rows = review_values(dst)
    h = find_header(rows)
    assert rows[h][:11] == HEADERS
    assert [r[2] for r in rows[h + 1:h + 4]] == ["ARI002", "EXP001", "TXT009"]
    assert read_explanations(wb) == {}
    assert_lossless(src, dst, new_sheet=False)


def test_openpyxl_sees_hyperlinks_filter_freeze_print(tmp_path):
    src = filled_workbook(tmp_path / "a.xlsx")
    write_review(src, src, result(src, [err(), warn()]), now=NOW)
    wb = openpyxl.load_workbook(src)
    ws = wb[REVIEW_SHEET]
    h = find_header(review_values(src)) + 1
    assert ws.freeze_panes == f"A{h + 1}"
    assert ws.auto_filter.ref == f"A{h}:K{h + 2}"
    assert ws[f"E{h + 1}"].hyperlink.location == "'基本信息'!B23"
    assert ws.column_dimensions["K"].hidden
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize in (9, "9")
    assert ws.print_title_rows.replace("$", "") == f"{h}:{h}"
    assert ws.protection.sheet is False
    assert ws[f"I{h + 1}"].protection.locked is False


def test_explanation_survives_rewrite_and_moves_to_gone(tmp_path):
    src = filled_workbook(tmp_path / "a.xlsx")
    write_review(src, src, result(src, [err(), warn()]), now=NOW)
    type_explanation(src, "EXP001", "两场活动因场地改造顺延至次年一季度")
    # the runner reads it (same key) …
    notes = read_explanations(read_workbook(src))
    assert notes[("EXP001", "indicators.完成率", 2)] == "两场活动因场地改造顺延至次年一季度"
    # … and a rewrite keeps it on the same finding, as 已说明
    write_review(src, src, annotated(src, [err(), warn()]), now=NOW)
    rows = review_values(src)
    h = find_header(rows)
    row = next(r for r in rows[h + 1:] if r[2] == "EXP001")
    assert row[8] == "两场活动因场地改造顺延至次年一季度" and row[9] == "已说明"
    # the finding is fixed: its explanation moves to 已消除的问题, nothing is lost
    write_review(src, src, result(src, [err()]), now=NOW)
    rows = review_values(src)
    h = find_header(rows)
    assert all(r[2] != "EXP001" for r in rows[h + 1:h + 3] if r)
    g = find_header(rows, h + 1)
    assert "已消除的问题" in rows[g - 1][0]
    gone = rows[g + 1]
    assert gone[2:5] == ("EXP001", "绩效指标", "J5") and gone[8] == "两场活动因场地改造顺延至次年一季度"
    assert gone[9] == "已消除" and gone[10] == "indicators.完成率#2"
    # … and comes back onto the finding when it reappears
    write_review(src, src, annotated(src, [err(), warn()]), now=NOW)
    rows = review_values(src)
    h = find_header(rows)
    assert next(r for r in rows[h + 1:] if r[2] == "EXP001")[9] == "已说明"
    with pytest.raises(AssertionError):
        find_header(rows, h + 1)


def test_layout_moved_finding_keeps_explanation_by_locator(tmp_path):
    """Same rule, same field and row, but the table moved: the 定位 key still matches."""
    src = filled_workbook(tmp_path / "a.xlsx")
    write_review(src, src, result(src, [warn()]), now=NOW)
    type_explanation(src, "EXP001", "目标值按上级要求下达")
    write_review(src, src, annotated(src, [warn(cell="J9")]), now=NOW)
    rows = review_values(src)
    row = next(r for r in rows if r and r[2] == "EXP001")
    assert row[4] == "J9" and row[9] == "已说明"


@pytest.mark.parametrize("macro", [False, True], ids=["xlsx", "xlsm"])
def test_lossless_on_image_comment_macro(tmp_path, macro):
    src = office_workbook(tmp_path / ("o.xlsm" if macro else "o.xlsx"), macro=macro)
    dst = tmp_path / "out" / src.name
    dst.parent.mkdir()
    write_review(src, dst, result(src, [err(), warn(), info()]), now=NOW)
    assert_lossless(src, dst, new_sheet=False)
    p = parts(dst)
    assert any(n.startswith("xl/media/") for n in p) and any("comments" in n for n in p)
    assert ("xl/vbaProject.bin" in p) == macro
    assert read_workbook(dst).vba == macro


def test_new_sheet_in_excel_saved_macro_workbook(tmp_path):
    """xlwings' quickstart.xlsm (saved by Excel, no review sheet): a sheet part is added at the end."""
    src = tmp_path / "quickstart.xlsm"
    shutil.copy(xlwings_quickstart(), src)
    dst = tmp_path / "annotated.xlsm"
    write_review(src, dst, result(src, [warn(sheet="Sheet1", cell="A1")]), now=NOW)
    assert_lossless(src, dst, new_sheet=True)
    wb = read_workbook(dst)
    assert wb.sheets[-1] == REVIEW_SHEET and wb.vba
    assert parts(dst)["xl/vbaProject.bin"] == parts(src)["xl/vbaProject.bin"]
    # the second write replaces that sheet in place and reuses the appended styles
    dst2 = tmp_path / "again.xlsm"
    write_review(dst, dst2, result(src, [warn(sheet="Sheet1", cell="A1")]), now=NOW)
    assert parts(dst2)["xl/styles.xml"] == parts(dst)["xl/styles.xml"]
    assert parts(dst2)["xl/workbook.xml"] == parts(dst)["xl/workbook.xml"]
    assert read_workbook(dst2).sheets.count(REVIEW_SHEET) == 1


def test_styles_not_appended_twice(tmp_path):
    src = filled_workbook(tmp_path / "a.xlsx")
    write_review(src, src, result(src, [err(), warn(), info()]), now=NOW)
    once = parts(src)["xl/styles.xml"]
    write_review(src, src, result(src, [warn()]), now=NOW)
    assert parts(src)["xl/styles.xml"] == once


def test_old_review_sheet_parts_go_with_it(tmp_path):
    """A comment someone put on the old review sheet goes with that sheet; others stay."""
    src = office_workbook(tmp_path / "o.xlsx")
    add_comment(src, REVIEW_SHEET, "A1", "审核意见")
    before = parts(src)
    review = review_part(src)
    rels = review.replace("worksheets/", "worksheets/_rels/") + ".rels"
    assert rels in before
    own = [n for n in before if n.startswith("xl/comments") or n.endswith(".vml")]
    assert len(own) == 4                                     # two sheets with a comment each
    write_review(src, src, result(src, [err()]), now=NOW)
    after = parts(src)
    assert rels not in after
    assert len([n for n in after if n.startswith("xl/comments") or n.endswith(".vml")]) == 2
    for n in after:
        if n.startswith("xl/comments") or n.endswith(".vml"):
            assert after[n] == before[n]
            assert f'PartName="/{n}"' in after["[Content_Types].xml"].decode() or n.endswith(".vml")
    assert "审核意见" not in str(read_workbook(src).cells.get(REVIEW_SHEET, {}))


def _add_calc_chain(path, entries: str):
    from fixtures_office import _rewrite
    with zipfile.ZipFile(path) as z:
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
        ct = z.read("[Content_Types].xml").decode()
    rels = rels.replace("</Relationships>", '<Relationship Id="rIdCalc" Type="http://schemas.openxmlformats.org/'
                        'officeDocument/2006/relationships/calcChain" Target="calcChain.xml"/></Relationships>')
    ct = ct.replace("</Types>", '<Override PartName="/xl/calcChain.xml" ContentType="application/vnd.'
                    'openxmlformats-officedocument.spreadsheetml.calcChain+xml"/></Types>')
    chain = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<calcChain xmlns="http://schemas.'
             f'openxmlformats.org/spreadsheetml/2006/main">{entries}</calcChain>')
    _rewrite(Path(path), {"xl/calcChain.xml": chain.encode(), "xl/_rels/workbook.xml.rels": rels.encode(),
                          "[Content_Types].xml": ct.encode()})


def test_calc_chain_kept_unless_it_names_the_review_sheet(tmp_path):
    src = filled_workbook(tmp_path / "a.xlsx")
    _add_calc_chain(src, '<c r="B14" i="2"/><c r="B22"/>')
    write_review(src, tmp_path / "kept.xlsx", result(src, [err()]), now=NOW)
    assert_lossless(src, tmp_path / "kept.xlsx", new_sheet=False)
    assert "xl/calcChain.xml" in parts(tmp_path / "kept.xlsx")

    src2 = filled_workbook(tmp_path / "b.xlsx")
    sheet_id = re.search(r'name="审核结果" sheetId="(\d+)"', parts(src2)["xl/workbook.xml"].decode()).group(1)
    _add_calc_chain(src2, f'<c r="B14" i="2"/><c r="C9" i="{sheet_id}"/>')
    write_review(src2, tmp_path / "dropped.xlsx", result(src2, [err()]), now=NOW)
    p = parts(tmp_path / "dropped.xlsx")
    assert "xl/calcChain.xml" not in p
    assert "calcChain" not in p["xl/_rels/workbook.xml.rels"].decode()
    assert "calcChain" not in p["[Content_Types].xml"].decode()


def test_failed_write_leaves_original_intact(tmp_path, monkeypatch):
    src = office_workbook(tmp_path / "o.xlsx")
    before = src.read_bytes()
    import xlcheck.ooxml.edit as edit
    import xlcheck.review as review

    def boom(*a, **k):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(review.os, "replace", boom)
    with pytest.raises(WriteError, match="磁盘空间不足"):
        write_review(src, src, result(src, [err()]), now=NOW)
    assert src.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.xlsx"]       # no temporary file left

    monkeypatch.undo()

    def half(*a, **k):
        raise RuntimeError("simulated crash while building the sheet")
    monkeypatch.setattr(edit, "sheet_xml", half)
    with pytest.raises(WriteError):
        write_review(src, src, result(src, [err()]), now=NOW)
    assert src.read_bytes() == before


def test_not_a_workbook(tmp_path):
    p = tmp_path / "bad.xlsx"
    p.write_bytes(b"not a zip at all")
    with pytest.raises(WriteError):
        write_review(p, tmp_path / "x.xlsx", result(p, [err()]), now=NOW)
    assert not (tmp_path / "x.xlsx").exists()


class _Unseekable:
    """A write-only stream: zipfile then writes data descriptors after each entry."""

    def __init__(self):
        self.buf = io.BytesIO()

    def write(self, b):
        return self.buf.write(b)

    def tell(self):
        return self.buf.tell()

    def flush(self):
        pass

    def seekable(self):
        return False


@pytest.mark.parametrize("zip64", [False, True], ids=["descriptor", "zip64-descriptor"])
def test_streamed_archives_copy_losslessly(tmp_path, zip64):
    """Archives written by streaming writers (data descriptors, zip64 extras) are copied whole."""
    src = filled_workbook(tmp_path / "a.xlsx")
    stream = _Unseekable()
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as zout:
        for i in zin.infolist():
            with zout.open(zipfile.ZipInfo(i.filename, i.date_time), "w", force_zip64=zip64) as fh:
                fh.write(zin.read(i.filename))
    streamed = tmp_path / "s.xlsx"
    streamed.write_bytes(stream.buf.getvalue())
    assert all(i.flag_bits & 0x08 for i in zipfile.ZipFile(streamed).infolist())
    out = tmp_path / "out.xlsx"
    write_review(streamed, out, result(src, [err()]), now=NOW)
    assert_lossless(streamed, out, new_sheet=False)
    assert REVIEW_SHEET in read_workbook(out).sheets


def _prefixed(xml: bytes) -> bytes:
    """The same part with the spreadsheetml namespace bound to a prefix (<x:workbook>, as some
    .NET generators write it)."""
    s = xml.decode()
    s = re.sub(r"<(/?)([A-Za-z]\w*)([\s/>])", lambda m: f"<{m.group(1)}x:{m.group(2)}{m.group(3)}", s)
    return s.replace('xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"',
                     'xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"', 1).encode()


def test_prefixed_namespace_package(tmp_path):
    from fixtures_office import _rewrite
    src = tmp_path / "p.xlsm"
    shutil.copy(xlwings_quickstart(), src)
    with zipfile.ZipFile(src) as z:
        changes = {n: _prefixed(z.read(n)) for n in ("xl/workbook.xml", "xl/styles.xml")}
    _rewrite(src, changes)
    dst = tmp_path / "out.xlsm"
    write_review(src, dst, result(src, [warn(sheet="Sheet1", cell="A1")]), now=NOW)
    assert_lossless(src, dst, new_sheet=True)
    wbx = parts(dst)["xl/workbook.xml"].decode()
    assert "<x:sheet " in wbx and "<x:definedNames><x:definedName " in wbx and "<sheet " not in wbx
    assert "<xf " not in parts(dst)["xl/styles.xml"].decode()
    assert read_workbook(dst).sheets[-1] == REVIEW_SHEET


def test_strict_ooxml_refused_untouched(tmp_path):
    from fixtures_office import _rewrite
    src = filled_workbook(tmp_path / "s.xlsx")
    with zipfile.ZipFile(src) as z:
        wbx = z.read("xl/workbook.xml").replace(b"http://schemas.openxmlformats.org/spreadsheetml/2006/main",
                                                b"http://purl.oclc.org/ooxml/spreadsheetml/main")
    _rewrite(src, {"xl/workbook.xml": wbx})
    before = src.read_bytes()
    with pytest.raises(WriteError, match="Strict"):
        write_review(src, src, result(src, [err()]), now=NOW)
    assert src.read_bytes() == before


# ------------------------------------------------------------------------------------------- LibreOffice

@pytest.mark.libreoffice
def test_libreoffice_opens_annotated_copies(tmp_path, libreoffice):
    srcs = [office_workbook(tmp_path / "office.xlsx"), office_workbook(tmp_path / "macro.xlsm", macro=True),
            tmp_path / "quick.xlsm"]
    shutil.copy(xlwings_quickstart(), srcs[2])
    add_comment(srcs[0], REVIEW_SHEET, "A1", "旧批注")
    outs = []
    for s in srcs:
        d = tmp_path / "out" / s.name
        d.parent.mkdir(exist_ok=True)
        write_review(s, d, result(s, [err(), warn(), info(), warn(rule="EXP002", cell="K5")]), now=NOW)
        outs.append(d)
    type_explanation(outs[0], "EXP002", "已补充说明")
    write_review(outs[0], outs[0], result(srcs[0], [err(), warn(), info()]), now=NOW)   # with a 已消除 block
    pdfs = libreoffice(outs, tmp_path / "pdf", fmt="pdf")
    assert all(p.stat().st_size > 1000 for p in pdfs)
    xlsx = libreoffice(outs, tmp_path / "xlsx", fmt="xlsx")
    for x in xlsx:
        rows = review_values(x)
        h = find_header(rows)
        assert tuple(rows[h][:10]) == HEADERS[:10]
        assert "ARI002" in [r[2] for r in rows[h + 1:]]
    rows = review_values(xlsx[0])
    g = find_header(rows, find_header(rows) + 1)
    assert rows[g + 1][2] == "EXP002" and rows[g + 1][8] == "已补充说明"
