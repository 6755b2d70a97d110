"""The console's LiveTable on its own: what an operator sees and selects while rows keep arriving."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

from rich.text import Text
from textual.app import App, ComposeResult
from textual.pilot import Pilot

from console.table import LiveTable

COLUMNS = {"log": ("time", "action", "id"), "other": ("name",)}


class Host(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.selected: list[tuple[str, str]] = []
        self.on_fold: Any = None  # what opening or closing a fold does, if anything

    def compose(self) -> ComposeResult:
        yield LiveTable(COLUMNS, ["page"], id="t")

    def on_live_table_row_selected(self, event: LiveTable.RowSelected) -> None:
        self.selected.append((event.sheet, event.key))

    def on_live_table_fold_toggled(self, event: LiveTable.FoldToggled) -> None:
        if self.on_fold is not None:
            self.on_fold(event)


def log_rows(ids: range) -> dict[str, list[Any]]:
    """Newest first, as the Activations view shows them."""
    return {f"a{i:04}": [f"12:00:{i % 60:02}", f"act{i}", f"a{i:04}"] for i in reversed(ids)}


def screen_lines(table: LiveTable) -> list[str]:
    return [table.render_line(y).text for y in range(table.scrollable_content_region.height)]


@asynccontextmanager
async def showing(sheet: str, rows: dict[str, list[Any]]) -> AsyncIterator[tuple[Host, LiveTable, Pilot[None]]]:
    """A 60x12 app whose focused table shows `sheet` with `rows`."""
    app = Host()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(LiveTable)
        table.show(sheet)
        table.focus()
        if sheet in table.sheets:
            table.sync(sheet, rows)
        await pilot.pause()
        yield app, table, pilot


async def test_the_selection_stays_on_its_row_as_new_rows_arrive_above() -> None:
    async with showing("log", log_rows(range(0, 5))) as (app, table, pilot):
        await pilot.press("down", "down")
        assert table.selected_key == "a0002"
        table.sync("log", log_rows(range(0, 8)))  # three newer rows on top
        await pilot.pause()
        assert table.selected_key == "a0002"  # still the one the operator chose
        await pilot.press("enter")
        assert app.selected == [("log", "a0002")]


async def test_a_cursor_on_the_first_row_follows_the_newest() -> None:
    async with showing("log", log_rows(range(0, 5))) as (app, table, pilot):
        assert table.selected_key == "a0004"
        table.sync("log", log_rows(range(0, 9)))
        await pilot.pause()
        assert table.selected_key == "a0008"
        assert "a0008" in screen_lines(table)[1]


async def test_the_header_says_which_rows_are_shown_when_they_do_not_all_fit() -> None:
    async with showing("log", log_rows(range(0, 100))) as (app, table, pilot):
        await pilot.pause()
        visible = table.scrollable_content_region.height - 1
        assert screen_lines(table)[0].rstrip().endswith(f"1-{visible} of 100")
        await pilot.press("end")
        assert table.selected_key == "a0000"
        header = screen_lines(table)[0].rstrip()
        assert header.endswith(f"{100 - visible + 1}-100 of 100"), header
        assert "a0000" in screen_lines(table)[-1]


async def test_a_filter_hides_other_rows_and_each_sheet_keeps_its_place() -> None:
    async with showing("log", log_rows(range(0, 30))) as (app, table, pilot):
        table.sync("other", {"x": ["x"], "y": ["y"]})
        await pilot.press("down", "down", "down")
        table.show("other")
        await pilot.pause()
        assert table.selected_key == "x" and "x" in screen_lines(table)[1]
        table.show("log")
        assert table.selected_key == "a0026"
        table.sync("log", log_rows(range(0, 30)), needle="ACT1")
        await pilot.pause()
        assert table.sheet.keys == [f"a{i:04}" for i in reversed(range(10, 20))] + ["a0001"]
        matched = table.sheet.cell("a0012", "action")
        assert matched.plain == "act12" and matched.spans  # the match is highlighted


async def test_a_page_shows_renderables_and_scrolls() -> None:
    async with showing("page", {}) as (app, table, pilot):
        table.set_page("page", [Text(f"line {i}") for i in range(40)])
        await pilot.pause()
        assert screen_lines(table)[0].startswith("line 0")
        await pilot.press("pagedown")
        assert screen_lines(table)[0].startswith(f"line {table.scrollable_content_region.height}")
        assert table.selected_key is None  # a page has no rows to act on


async def test_left_and_right_show_the_columns_of_a_table_wider_than_the_screen() -> None:
    wide = {f"r{i}": [f"{i:02}" + "x" * 40, "middle" + "y" * 30, f"last{i}"] for i in range(3)}
    async with showing("log", wide) as (app, table, pilot):
        assert "last" not in screen_lines(table)[1]
        await pilot.press("right", "right", "right", "right", "right", "right", "right", "right", "right")
        assert "last0" in screen_lines(table)[1] and not screen_lines(table)[1].startswith(" 00")
        await pilot.press(*["left"] * 9)
        assert screen_lines(table)[1].startswith(" 00xxx")


async def test_a_fold_asks_to_open_and_close_and_left_inside_one_goes_to_its_row() -> None:
    """The table only asks (FoldToggled); whoever syncs the rows opens the fold."""
    asked: list[tuple[str, bool]] = []
    opened: set[str] = set()

    def sync(table: LiveTable) -> None:
        cells = {"pkg/": [f"{'▾' if 'pkg/' in opened else '▸'} pkg/", "", ""]}
        parents = {}
        if "pkg/" in opened:
            for name in ("pkg/a", "pkg/b"):
                cells[name], parents[name] = [f"  {name}", "", ""], "pkg/"
        cells["solo"] = ["solo", "", ""]
        table.sync("log", cells, folds={"pkg/": "pkg/" in opened}, parents=parents)

    async with showing("log", {}) as (app, table, pilot):
        def folded(event: LiveTable.FoldToggled) -> None:
            asked.append((event.key, event.open))
            (opened.add if event.open else opened.discard)(event.key)
            sync(table)

        app.on_fold = folded
        sync(table)
        await pilot.press("enter")  # on a fold: opens it rather than selecting it
        assert asked == [("pkg/", True)] and app.selected == []
        assert table.sheet.keys == ["pkg/", "pkg/a", "pkg/b", "solo"]
        assert table.selected_key == "pkg/"
        await pilot.press("down", "down", "left")  # inside the fold: to its row
        assert table.selected_key == "pkg/" and len(asked) == 1
        await pilot.press("left")  # on an open fold: closes it
        assert asked[-1] == ("pkg/", False) and table.sheet.keys == ["pkg/", "solo"]
        await pilot.press("right")
        assert asked[-1] == ("pkg/", True)
        await pilot.press("space")
        assert asked[-1] == ("pkg/", False)
        await pilot.press("down", "enter")  # not a fold: selected as ever
        assert app.selected == [("log", "solo")] and len(asked) == 4
