//! Flatten one JSON event into an [`EventBuf`] in one pass, naming its fields by its layout.
//!
//! Naming rules (the engine and the pipelines rely on them):
//!
//! * Outside an `Event` object (the flat and ECS layouts, and keys beside `Event`), nested
//!   objects are joined with dots (`winlog.event_data.CommandLine`); keys that already hold
//!   dots are kept as they are.
//! * Inside `Event` (the nested Windows layout), names follow the Sigma convention for
//!   Windows XML: an element's text is named by the element (`EventID`, `Channel`, `Image`),
//!   an attribute by element and attribute joined with `_` (`Provider_Name`,
//!   `Execution_ProcessID`, `EventData_Name`). Elements below `System`, `EventData`,
//!   `UserData` and any other child of `Event` (`ProcessingErrorData`, `RenderingInfo`, …) are
//!   named by their own (leaf) name only: `UserData.Operation_ESStoConsumerBinding.Namespace`
//!   is `Namespace`. `xmlns` attributes are dropped; `System` elements that are `null`
//!   (empty, like `<Correlation/>`) are dropped; other `null`s are kept as null values.
//! * `EventData.Data` is `<Data Name="N">v</Data>`: `{"#attributes":{"Name":"N"},"#text":v}`
//!   becomes `N = v`; unnamed `Data` values (`{"#text":[…]}` or plain values) become values of
//!   the field `Data`.
//! * Arrays give the field one value per element, in order.

use std::ops::Range;

use crate::event::{Entry, EventBuf, NO_NAME_ID, Span, name_key};
use crate::json::{self, Fail, JsonError, MAX_DEPTH, Result};
use crate::{Layout, LayoutChoice, ValueKind};

/// Flatten the JSON object at `pos` of `input` into `buf` (cleared first), decide its layout
/// and fill its header. Returns the position after the object.
pub(crate) fn flatten_event(
    input: &str,
    pos: usize,
    choice: LayoutChoice,
    buf: &mut EventBuf,
) -> Result<usize> {
    buf.clear();
    let pos = json::skip_ws(input, pos);
    if json::peek(input, pos)? != b'{' {
        return Err(Fail::at(pos, JsonError::Syntax("expected a JSON object")));
    }
    // Room for a flattened event several times its JSON text: ample for real events, and a
    // bound on documents built to repeat long names for many values.
    let text_limit = (input.len() - pos)
        .saturating_mul(8)
        .saturating_add(1 << 16)
        .min(u32::MAX as usize);
    let mut flattener = Flattener {
        input,
        buf,
        text_limit,
        ecs_seen: false,
        nested: false,
        system: 0..0,
    };
    let nested_allowed = matches!(
        choice,
        LayoutChoice::Auto | LayoutChoice::Fixed(Layout::WindowsNested)
    );
    let end = flattener.object(pos, 0, |f, key, value| {
        let name = &f.buf.path[key.clone()];
        if nested_allowed
            && name == "Event"
            && json::peek(f.input, json::skip_ws(f.input, value))? == b'{'
        {
            f.nested = true;
            return f.windows_event(value);
        }
        if name == "winlog"
            || name == "ecs"
            || name.starts_with("winlog.")
            || name.starts_with("ecs.")
        {
            f.ecs_seen = true;
        }
        f.dotted(value, key.end, 1)
    })?;
    let layout = match choice {
        LayoutChoice::Fixed(layout) => layout,
        LayoutChoice::Auto if flattener.nested => Layout::WindowsNested,
        LayoutChoice::Auto if flattener.ecs_seen => Layout::Ecs,
        LayoutChoice::Auto => Layout::WindowsFlat,
    };
    let system = flattener.system.clone();
    buf.layout = layout;
    crate::header::fill(buf, system);
    Ok(end)
}

/// What a key inside a Windows element means.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Key {
    Attributes,
    Text,
    Data,
    Other,
}

/// Where in the `Event` tree an element is, which changes a few rules.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Under `System`: `null` elements are dropped.
    System,
    /// `EventData` itself: its `Data` children are named by their `Name` attribute.
    EventData,
    /// Anywhere else.
    Other,
}

impl Place {
    fn child(self) -> Place {
        match self {
            Place::System => Place::System,
            Place::EventData | Place::Other => Place::Other,
        }
    }
}

/// A field name already copied into the text, reused for the next values of an array.
type CachedName = Option<(Span, u32)>;

struct Flattener<'i, 'b> {
    input: &'i str,
    buf: &'b mut EventBuf,
    text_limit: usize,
    ecs_seen: bool,
    nested: bool,
    /// The entries that came from `Event.System`, where the nested layout's header is.
    system: Range<usize>,
}

impl Flattener<'_, '_> {
    /// Walk the object at `pos`: decode each key onto the end of `path`, let `each` consume
    /// its value (it gets the key's range in `path` and the value's position), then cut the
    /// key off `path` again.
    fn object(
        &mut self,
        pos: usize,
        depth: usize,
        mut each: impl FnMut(&mut Self, Range<usize>, usize) -> Result<usize>,
    ) -> Result<usize> {
        let mut p = self.open(pos, depth)?;
        let base = self.buf.path.len();
        if json::peek(self.input, p)? == b'}' {
            return Ok(p + 1);
        }
        loop {
            if json::peek(self.input, p)? != b'"' {
                return Err(Fail::at(p, JsonError::Syntax("expected a key")));
            }
            p = json::string(self.input, p, &mut self.buf.path)?;
            let key = base..self.buf.path.len();
            p = json::expect(self.input, p, b':', "expected ':' after a key")?;
            p = each(self, key, p)?;
            self.buf.path.truncate(base);
            p = json::skip_ws(self.input, p);
            match json::peek(self.input, p)? {
                b',' => p = json::skip_ws(self.input, p + 1),
                b'}' => return Ok(p + 1),
                _ => return Err(Fail::at(p, JsonError::Syntax("expected ',' or '}'"))),
            }
        }
    }

    /// Walk the array at `pos`, letting `each` consume every element.
    fn array(
        &mut self,
        pos: usize,
        depth: usize,
        mut each: impl FnMut(&mut Self, usize) -> Result<usize>,
    ) -> Result<usize> {
        let mut p = self.open(pos, depth)?;
        if json::peek(self.input, p)? == b']' {
            return Ok(p + 1);
        }
        loop {
            p = json::skip_ws(self.input, each(self, p)?);
            match json::peek(self.input, p)? {
                b',' => p += 1,
                b']' => return Ok(p + 1),
                _ => return Err(Fail::at(p, JsonError::Syntax("expected ',' or ']'"))),
            }
        }
    }

    /// Step into the object or array at `pos` (after whitespace); return the position of its
    /// first token.
    fn open(&mut self, pos: usize, depth: usize) -> Result<usize> {
        let pos = json::skip_ws(self.input, pos);
        if depth >= MAX_DEPTH {
            return Err(Fail::at(pos, JsonError::TooDeep { limit: MAX_DEPTH }));
        }
        // Events never put a nested object at the start of a line; a line that does is the
        // next event, after a line that was cut off.
        if depth > 0 && pos > 0 && self.input.as_bytes()[pos - 1] == b'\n' {
            return Err(Fail::at(pos, JsonError::LineCutOff));
        }
        Ok(json::skip_ws(self.input, pos + 1))
    }

    fn skip(&mut self, pos: usize, depth: usize) -> Result<usize> {
        json::skip_value(self.input, pos, depth, &mut self.buf.scratch)
    }

    /// If the value at `pos` is a scalar, add it as a value of `path[name]` (or of the cached
    /// name) and return the position after it; `None` for an object or array.
    fn scalar(
        &mut self,
        pos: usize,
        name: Range<usize>,
        cached: &mut CachedName,
        drop_null: bool,
    ) -> Result<Option<usize>> {
        let start = self.buf.text.len();
        let Some((kind, end)) = json::scalar(self.input, pos, &mut self.buf.text)? else {
            return Ok(None);
        };
        if drop_null && kind == ValueKind::Null {
            return Ok(Some(end));
        }
        let value = Span::new(start, self.buf.text.len());
        let (name, key) = match *cached {
            Some(name) => name,
            None => {
                let buf = &mut *self.buf;
                let name = &buf.path[name];
                let span = Span::new(buf.text.len(), buf.text.len() + name.len());
                buf.text.push_str(name);
                let key = name_key(name);
                *cached = Some((span, key));
                (span, key)
            }
        };
        self.push(pos, name, key, value, kind)?;
        Ok(Some(end))
    }

    fn push(
        &mut self,
        pos: usize,
        name: Span,
        key: u32,
        value: Span,
        kind: ValueKind,
    ) -> Result<()> {
        if self.buf.text.len() > self.text_limit {
            return Err(Fail::at(pos, JsonError::FlattenedTooLarge));
        }
        self.buf.entries.push(Entry {
            name_key: key,
            name,
            name_id: NO_NAME_ID,
            value,
            kind,
            slot: crate::event::NO_SLOT,
        });
        Ok(())
    }

    /// The value at `pos` named `path[..name_end]` with nested keys joined by dots.
    fn dotted(&mut self, pos: usize, name_end: usize, depth: usize) -> Result<usize> {
        self.dotted_values(pos, name_end, depth, &mut None)
    }

    fn dotted_values(
        &mut self,
        pos: usize,
        name_end: usize,
        depth: usize,
        cached: &mut CachedName,
    ) -> Result<usize> {
        if let Some(end) = self.scalar(pos, 0..name_end, cached, false)? {
            return Ok(end);
        }
        let pos = json::skip_ws(self.input, pos);
        if self.input.as_bytes()[pos] == b'[' {
            return self.array(pos, depth, |f, p| {
                f.dotted_values(p, name_end, depth + 1, cached)
            });
        }
        self.buf.path.truncate(name_end);
        if name_end > 0 {
            self.buf.path.push('.');
        }
        let end = self.object(pos, depth, |f, key, value| {
            f.dotted(value, key.end, depth + 1)
        })?;
        self.buf.path.truncate(name_end);
        Ok(end)
    }

    /// The object that is the value of the top-level `Event` key.
    fn windows_event(&mut self, pos: usize) -> Result<usize> {
        self.object(pos, 1, |f, key, value| match &f.buf.path[key.clone()] {
            "#attributes" => f.skip(value, 2),
            "System" => {
                let first = f.buf.entries.len();
                let end = f.element(value, key, 2, Place::System)?;
                f.system = first..f.buf.entries.len();
                Ok(end)
            }
            "EventData" => f.element(value, key, 2, Place::EventData),
            _ => f.element(value, key, 2, Place::Other),
        })
    }

    /// The element named `path[elem]` (which ends `path`), with the value at `pos`.
    fn element(
        &mut self,
        pos: usize,
        elem: Range<usize>,
        depth: usize,
        place: Place,
    ) -> Result<usize> {
        self.element_values(pos, elem, depth, place, &mut None)
    }

    fn element_values(
        &mut self,
        pos: usize,
        elem: Range<usize>,
        depth: usize,
        place: Place,
        cached: &mut CachedName,
    ) -> Result<usize> {
        if let Some(end) = self.scalar(pos, elem.clone(), cached, place == Place::System)? {
            return Ok(end);
        }
        let pos = json::skip_ws(self.input, pos);
        if self.input.as_bytes()[pos] == b'[' {
            return self.array(pos, depth, |f, p| {
                f.element_values(p, elem.clone(), depth + 1, place, cached)
            });
        }
        self.object(pos, depth, |f, key, value| {
            match classify(&f.buf.path[key.clone()]) {
                Key::Attributes => {
                    f.buf.path.truncate(key.start);
                    f.attributes(value, elem.clone(), depth + 1)
                }
                Key::Text => {
                    f.buf.path.truncate(key.start);
                    f.element_values(value, elem.clone(), depth + 1, place.child(), cached)
                }
                Key::Data if place == Place::EventData => f.data(value, key, depth + 1),
                Key::Data | Key::Other => f.element(value, key, depth + 1, place.child()),
            }
        })
    }

    /// The `#attributes` object of the element `path[elem]` (which ends `path`): each
    /// attribute `A` is the field `<elem>_A`.
    fn attributes(&mut self, pos: usize, elem: Range<usize>, depth: usize) -> Result<usize> {
        self.object(pos, depth, |f, key, value| {
            let attr = &f.buf.path[key.clone()];
            if attr == "xmlns" || attr.starts_with("xmlns:") {
                return f.skip(value, depth + 1);
            }
            f.buf.path.insert(key.start, '_');
            let name = elem.start..f.buf.path.len();
            f.element(value, name, depth + 1, Place::Other)
        })
    }

    /// The value of `EventData.Data` (`path[elem]` is `Data`).
    fn data(&mut self, pos: usize, elem: Range<usize>, depth: usize) -> Result<usize> {
        self.data_values(pos, elem, depth, &mut None)
    }

    fn data_values(
        &mut self,
        pos: usize,
        elem: Range<usize>,
        depth: usize,
        cached: &mut CachedName,
    ) -> Result<usize> {
        if let Some(end) = self.scalar(pos, elem.clone(), cached, false)? {
            return Ok(end);
        }
        let pos = json::skip_ws(self.input, pos);
        if self.input.as_bytes()[pos] == b'[' {
            return self.array(pos, depth, |f, p| {
                f.data_values(p, elem.clone(), depth + 1, cached)
            });
        }
        // `<Data Name="N">v</Data>`: the values of `#text` are named N. The attributes come
        // first in evtx's output; when they come after the text, its entries are renamed.
        let mut name: CachedName = None;
        let mut texts = 0..0;
        let end = self.object(pos, depth, |f, key, value| {
            match classify(&f.buf.path[key.clone()]) {
                Key::Attributes => f.data_name(value, depth + 1, &mut name),
                Key::Text => {
                    f.buf.path.truncate(key.start);
                    let first = f.buf.entries.len();
                    let mut text_name = name.or(*cached);
                    let end = f.element_values(
                        value,
                        elem.clone(),
                        depth + 1,
                        Place::Other,
                        &mut text_name,
                    )?;
                    if name.is_none() {
                        *cached = text_name;
                    }
                    texts = first..f.buf.entries.len();
                    Ok(end)
                }
                Key::Data | Key::Other => f.element(value, key, depth + 1, Place::Other),
            }
        })?;
        if let Some((span, key)) = name {
            if texts.is_empty() {
                // `<Data Name="N"/>`: the field exists with no value.
                let at = self.buf.text.len();
                self.push(pos, span, key, Span::new(at, at), ValueKind::Null)?;
            }
            for entry in &mut self.buf.entries[texts] {
                entry.name = span;
                entry.name_key = key;
            }
        }
        Ok(end)
    }

    /// The attributes of a `Data` element: its `Name` is decoded into the text and returned
    /// through `name`; other attributes are ignored.
    fn data_name(&mut self, pos: usize, depth: usize, name: &mut CachedName) -> Result<usize> {
        self.object(pos, depth, |f, key, value| {
            if &f.buf.path[key] != "Name" {
                return f.skip(value, depth + 1);
            }
            let start = f.buf.text.len();
            match json::scalar(f.input, value, &mut f.buf.text)? {
                Some((_, end)) => {
                    let span = Span::new(start, f.buf.text.len());
                    *name = Some((span, name_key(span.get(&f.buf.text))));
                    Ok(end)
                }
                None => f.skip(value, depth + 1),
            }
        })
    }
}

fn classify(key: &str) -> Key {
    match key {
        "#attributes" => Key::Attributes,
        "#text" => Key::Text,
        "Data" => Key::Data,
        _ => Key::Other,
    }
}
