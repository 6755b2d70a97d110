"""LiveTable: one widget that shows several views whose data changes on every poll, one at a time:
keyed tables ("sheets") and pages of Rich renderables.

Textual's DataTable renders every visible cell through Rich again after any change to any cell, and
showing another widget costs a whole-screen layout pass and repaint; on two shared cores that made
a view switch under load take 70-300 ms. Here each row is drawn once into a Strip and kept until its
cells (or the column widths, the theme, the cursor) change, and switching views repaints this one
widget, so a view switch mostly crops strips it already has.

The selection follows its row's key, not its position: in a live log new rows arrive above it, and an
operator about to kill an activation must not find another one selected. Only a cursor on the first
row stays there, so that an untouched log shows what is new.

A row can be a fold (a package of actions, say): enter, space or right opens it, left closes it (or,
inside one, goes to its row). The table only asks (FoldToggled); whoever syncs the rows opens it.
The rows themselves, the cursor and the folds are kept in a Sheet (console/sheet.py).
"""

from __future__ import annotations

from typing import Mapping, Sequence

from rich.console import Group, RenderableType
from rich.segment import Segment
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from .sheet import NO_SHEET, PADDING, Look, Page, Sheet, highlighted

__all__ = ["LiveTable", "Page", "Sheet", "highlighted"]

CURSOR, EVEN, ODD = 0, 1, 2  # how a row is drawn


class LiveTable(ScrollView, can_focus=True):
    """Sheets and pages by name, one shown at a time; a sheet has a header, zebra stripes and a row
    cursor."""

    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "cursor(-1_000_000_000)", "Top", show=False),
        Binding("end", "cursor(1_000_000_000)", "Bottom", show=False),
        Binding("left", "left", "Left", show=False),
        Binding("right", "right", "Right", show=False),
        Binding("space", "fold", "Open or close", show=False),
        Binding("enter", "select", "Select", show=False),
    ]
    COMPONENT_CLASSES = {"live-table--header", "live-table--cursor", "live-table--even-row"}
    DEFAULT_CSS = """
    LiveTable {
        background: $surface;
        color: $foreground;
        height: 1fr;
        /* No scrollbar: one coming and going between sheets is a layout pass, and drawing one costs
           as much as the rows; the header says which rows are shown instead. Scrolling still works. */
        overflow-y: scroll;
        scrollbar-size-vertical: 0;
        & > .live-table--header { text-style: bold; background: $panel; color: $foreground; }
        & > .live-table--even-row { background: $surface-lighten-1 50%; }
        &:dark > .live-table--even-row { background: $surface-darken-1 40%; }
        & > .live-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus > .live-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
    }
    """

    class RowSelected(Message):
        """Enter (or a click on the selected row) on a row of the sheet shown."""

        def __init__(self, table: LiveTable, sheet: str, key: str) -> None:
            super().__init__()
            self.table = table
            self.sheet = sheet
            self.key = key

        @property
        def control(self) -> LiveTable:
            return self.table

    class FoldToggled(Message):
        """A fold row asked to open (`open`) or close (enter, space, right, left)."""

        def __init__(self, table: LiveTable, sheet: str, key: str, open: bool) -> None:
            super().__init__()
            self.table, self.sheet, self.key, self.open = table, sheet, key, open

        @property
        def control(self) -> LiveTable:
            return self.table

    def __init__(self, sheets: Mapping[str, Sequence[str]], pages: Sequence[str] = (), *,
                 id: str | None = None) -> None:
        """`sheets`: each sheet's name and its columns; `pages`: the pages' names. The first page
        (else the first sheet) is shown."""
        super().__init__(id=id)
        self.sheets = {name: Sheet(list(columns)) for name, columns in sheets.items()}
        self.pages = {name: Page() for name in pages}
        self.shown = next(iter([*self.pages, *self.sheets]))
        self._looks: dict[int, Look] | None = None

    @property
    def sheet(self) -> Sheet:
        """The sheet shown; an empty one while a page is shown."""
        return self.sheets.get(self.shown) or NO_SHEET

    @property
    def page(self) -> Page | None:
        return self.pages.get(self.shown)

    # --- data ---------------------------------------------------------------------------------

    def sync(self, name: str, rows: Mapping[str, Sequence[Text | str]], order: Sequence[str] | None = None,
             needle: str = "", folds: Mapping[str, bool] | None = None,
             parents: Mapping[str, str] | None = None) -> None:
        """Sheet `name` shows `rows` (key -> cells) in `order` (default: the mapping's), those
        matching `needle` only; `folds` and `parents` as in Sheet. Only rows whose cells changed
        are drawn again."""
        sheet = self.sheets[name]
        if sheet.sync(rows, order, needle, folds, parents) and name == self.shown:
            self._resize_virtual()
            self._scroll_to_cursor()
            self.refresh()

    def set_page(self, name: str, renderables: Sequence[RenderableType]) -> None:
        page = self.pages[name]
        page.renderables, page.lines = list(renderables), None
        if name == self.shown:
            self._resize_virtual()
            self.refresh()

    def show(self, name: str) -> None:
        """Show the sheet or page `name` where it was last scrolled to."""
        if name == self.shown:
            return
        (self.page or self.sheet).scroll_y = int(self.scroll_y)
        self.shown = name
        self._resize_virtual()
        self.scroll_to(y=(self.page or self.sheet).scroll_y, animate=False, immediate=True)
        self._scroll_to_cursor()
        self.refresh()

    @property
    def selected_key(self) -> str | None:
        return self.sheet.selected_key

    def move_cursor(self, row: int) -> None:
        sheet = self.sheet
        row = max(0, min(row, sheet.row_count - 1))
        if row == sheet.cursor:
            return
        old, sheet.cursor = sheet.cursor, row
        self._scroll_to_cursor()
        self.refresh_lines(old + 1)
        self.refresh_lines(row + 1)

    # --- keys and mouse -----------------------------------------------------------------------

    def action_cursor(self, delta: int) -> None:
        if self.page is not None:
            self.scroll_to(y=self.scroll_y + delta, animate=False, immediate=True)
        else:
            self.move_cursor(self.sheet.cursor + delta)

    def action_page(self, direction: int) -> None:
        if self.page is not None:
            self.scroll_to(y=self.scroll_y + direction * self.scrollable_content_region.height, animate=False,
                           immediate=True)
        else:
            self.move_cursor(self.sheet.cursor + direction * max(1, self._visible_rows() - 1))

    def action_sideways(self, cells: int) -> None:
        """A table wider than the screen: see its other columns."""
        self.scroll_to(x=self.scroll_x + cells, animate=False, immediate=True)

    def action_select(self) -> None:
        if (key := self.selected_key) is not None:
            if key in self.sheet.folds:
                self.action_fold()
            else:
                self.post_message(self.RowSelected(self, self.shown, key))

    def action_fold(self) -> None:
        """Open or close the fold selected."""
        key = self.selected_key
        if key is not None and key in self.sheet.folds:
            self.post_message(self.FoldToggled(self, self.shown, key, not self.sheet.folds[key]))

    def action_right(self) -> None:
        """Open the fold selected; elsewhere, see the columns further right."""
        key, sheet = self.selected_key, self.sheet
        if key is not None and sheet.folds.get(key) is False:
            self.post_message(self.FoldToggled(self, self.shown, key, True))
        else:
            self.action_sideways(8)

    def action_left(self) -> None:
        """Close the fold selected; inside one, go to its row; elsewhere, see the columns to the left."""
        key, sheet = self.selected_key, self.sheet
        if key is not None and sheet.folds.get(key):
            self.post_message(self.FoldToggled(self, self.shown, key, False))
        elif key is not None and (parent := sheet.parents.get(key)) in sheet.index:
            self.move_cursor(sheet.index[parent])
        else:
            self.action_sideways(-8)

    def on_click(self, event: events.Click) -> None:
        row = int(self.scroll_y) + event.y - 1
        if self.page is not None or event.y < 1 or row >= self.sheet.row_count:
            return
        if row == self.sheet.cursor:
            self.action_select()
        else:
            self.move_cursor(row)

    def on_resize(self) -> None:
        if (page := self.page) is not None and page.width != self.scrollable_content_region.width:
            page.lines = None  # drawn again to the new width
            self._resize_virtual()
        self._scroll_to_cursor()

    # --- drawing ------------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._looks = None  # the theme or focus changed; strips drawn in other looks are not reused
        for sheet in self.sheets.values():
            sheet.header = None
        for page in self.pages.values():
            page.lines = None

    def _look(self, look: int) -> Look:
        """The cursor's style goes over the cells, so that a coloured cell stays readable on it."""
        if self._looks is None:
            base = self.rich_style
            self._looks = {CURSOR: (base, self.get_component_rich_style("live-table--cursor")),
                           EVEN: (base + self.get_component_rich_style("live-table--even-row"), None),
                           ODD: (base, None)}
        return self._looks[look]

    def render_line(self, y: int) -> Strip:
        sheet = self.sheet
        width = self.scrollable_content_region.width
        scroll_x, scroll_y = int(self.scroll_x), int(self.scroll_y)
        if (page := self.page) is not None:
            lines = self._page_lines(page)
            if y + scroll_y < len(lines):
                return lines[y + scroll_y]
            return Strip.blank(width, self.rich_style)
        if y == 0:
            look: Look = (self.rich_style + self.get_component_rich_style("live-table--header"), None)
            if sheet.header is None:
                sheet.header = self._draw(sheet, [Text(c) for c in sheet.columns], look)
            header = sheet.header.crop_extend(scroll_x, scroll_x + width, look[0])
            visible = self._visible_rows()
            if sheet.row_count <= visible:
                return header
            where = f" {scroll_y + 1}-{min(sheet.row_count, scroll_y + visible)} of {sheet.row_count} "
            return Strip.join([header.crop(0, max(0, width - len(where))), Strip([Segment(where, look[0])])])
        index = y - 1 + scroll_y
        if index >= sheet.row_count:
            return Strip.blank(width, self.rich_style)
        key = sheet.keys[index]
        look = self._look(CURSOR if index == sheet.cursor else EVEN if index % 2 else ODD)
        drawn = sheet.strips.setdefault(key, {})
        strip = drawn.get(look)
        if strip is None:
            if len(drawn) >= 4:
                drawn.clear()  # looks of a theme or focus no longer in use
            strip = drawn[look] = self._draw(sheet, sheet.rows[key], look)
        beneath, over = look
        return strip.crop_extend(scroll_x, scroll_x + width, beneath + over if over else beneath)

    def _draw(self, sheet: Sheet, cells: Sequence[Text], look: Look) -> Strip:
        """One row as segments: each cell padded to its column's width, in the row's look."""
        console = self.app.console
        pad = Segment(" " * PADDING)
        segments: list[Segment] = []
        for cell, width in zip(cells, sheet.widths):
            segments.append(pad)
            if cell.spans:
                line = list(cell.render(console, end=""))
            else:
                line = [Segment(cell.plain, console.get_style(cell.style) if isinstance(cell.style, str)
                                else cell.style)]
            segments.extend(Segment.adjust_line_length(line, width))
            segments.append(pad)
        beneath, over = look
        return Strip(Segment.apply_style(segments, beneath, over))

    def _page_lines(self, page: Page) -> list[Strip]:
        width = self.scrollable_content_region.width
        if width <= 0:
            return []  # not laid out yet
        if page.lines is None or page.width != width:
            console = self.app.console
            options = console.options.update(width=width, height=None, highlight=False)
            page.lines = [Strip(line, width) for line in console.render_lines(
                Group(*page.renderables), options, style=self.rich_style, pad=True)]
            page.width = width
        return page.lines

    def _resize_virtual(self) -> None:
        """Set the scrollable size without the whole-screen layout pass that setting `virtual_size`
        asks for (a live log changes length on most polls); the scrollbars still follow, and a
        scrollbar appearing or going asks for its own layout."""
        if (page := self.page) is not None:
            size = Size(self.scrollable_content_region.width, len(self._page_lines(page)))
        else:
            size = Size(self.sheet.width(), self.sheet.row_count + 1)
        if size != self.virtual_size:
            self.set_reactive(ScrollView.virtual_size, size)
            self._scroll_update(size)

    def _visible_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _scroll_to_cursor(self) -> None:
        if self.page is not None:
            return  # a page has no cursor: it stays where it was scrolled to
        cursor, top, visible = self.sheet.cursor, int(self.scroll_y), self._visible_rows()
        if cursor < top:
            self.scroll_to(y=cursor, animate=False, immediate=True)
        elif cursor >= top + visible:
            self.scroll_to(y=cursor - visible + 1, animate=False, immediate=True)
