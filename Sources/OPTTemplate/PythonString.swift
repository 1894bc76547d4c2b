import OPTSupport
/// Python `str` methods with Python semantics: indices count code points, whitespace is `str.isspace`.

func byteFind(_ hay: [UInt8], _ needle: [UInt8], from: Int, to: Int? = nil) -> Int? {
    let end = to ?? hay.count
    if needle.isEmpty { return from <= end ? from : nil }
    guard end - from >= needle.count, from >= 0 else { return nil }
    let first = needle[0]
    var i = from
    let last = end - needle.count
    while i <= last {
        if hay[i] == first {
            var j = 1
            while j < needle.count && hay[i + j] == needle[j] { j += 1 }
            if j == needle.count { return i }
        }
        i += 1
    }
    return nil
}

func byteFindLast(_ hay: [UInt8], _ needle: [UInt8], from: Int, to: Int) -> Int? {
    if needle.isEmpty { return from <= to ? to : nil }
    guard to - from >= needle.count, from >= 0 else { return nil }
    var i = to - needle.count
    while i >= from {
        if hay[i] == needle[0] {
            var j = 1
            while j < needle.count && hay[i + j] == needle[j] { j += 1 }
            if j == needle.count { return i }
        }
        i -= 1
    }
    return nil
}

func stringFromScalars<S: Sequence>(_ scalars: S) -> String where S.Element == Unicode.Scalar {
    var v = String.UnicodeScalarView()
    v.append(contentsOf: scalars)
    return String(v)
}

func stringFromBytes(_ bytes: ArraySlice<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }

/// Python's `str.replace(old, new, count)`.
func pyReplace(_ s: String, _ old: String, _ new: String, count: Int) -> String {
    if count == 0 { return s }
    if old.isEmpty {
        // Inserts `new` before every code point and at the end, up to `count` times.
        var out = ""
        var done = 0
        for c in s.unicodeScalars {
            if count < 0 || done < count {
                out += new
                done += 1
            }
            out.unicodeScalars.append(c)
        }
        if count < 0 || done < count { out += new }
        return out
    }
    let hay = Array(s.utf8)
    let needle = Array(old.utf8)
    guard var hit = byteFind(hay, needle, from: 0) else { return s }
    var out: [UInt8] = []
    out.reserveCapacity(hay.count)
    var start = 0
    var done = 0
    let replacement = Array(new.utf8)
    while true {
        out.append(contentsOf: hay[start..<hit])
        out.append(contentsOf: replacement)
        start = hit + needle.count
        done += 1
        if count >= 0 && done >= count { break }
        guard let next = byteFind(hay, needle, from: start) else { break }
        hit = next
    }
    out.append(contentsOf: hay[start...])
    return String(decoding: out, as: UTF8.self)
}

/// Python's `str.split(sep, maxsplit)`.
func pySplit(_ s: String, _ sep: String?, _ maxsplit: Int) throws(Failure) -> [String] {
    guard let sep else {
        let scalars = Array(s.unicodeScalars)
        var parts: [String] = []
        var i = 0
        var splits = 0
        while i < scalars.count {
            while i < scalars.count, PythonText.isWhitespace(scalars[i]) { i += 1 }
            if i >= scalars.count { break }
            if maxsplit >= 0 && splits >= maxsplit {
                parts.append(stringFromScalars(scalars[i...]))
                break
            }
            let start = i
            while i < scalars.count, !PythonText.isWhitespace(scalars[i]) { i += 1 }
            parts.append(stringFromScalars(scalars[start..<i]))
            splits += 1
        }
        return parts
    }
    if sep.isEmpty { throw Failure(.value, "empty separator") }
    let hay = Array(s.utf8)
    let needle = Array(sep.utf8)
    var parts: [String] = []
    var start = 0
    var splits = 0
    while maxsplit < 0 || splits < maxsplit, let hit = byteFind(hay, needle, from: start) {
        parts.append(stringFromBytes(hay[start..<hit]))
        start = hit + needle.count
        splits += 1
    }
    parts.append(stringFromBytes(hay[start...]))
    return parts
}

/// Python's `str.rsplit(sep, maxsplit)`.
func pyRsplit(_ s: String, _ sep: String?, _ maxsplit: Int) throws(Failure) -> [String] {
    if maxsplit < 0 { return try pySplit(s, sep, maxsplit) }
    guard let sep else {
        let scalars = Array(s.unicodeScalars)
        var parts: [String] = []
        var i = scalars.count
        var splits = 0
        while i > 0 {
            while i > 0, PythonText.isWhitespace(scalars[i - 1]) { i -= 1 }
            if i == 0 { break }
            if splits >= maxsplit {
                parts.append(stringFromScalars(scalars[0..<i]))
                break
            }
            let end = i
            while i > 0, !PythonText.isWhitespace(scalars[i - 1]) { i -= 1 }
            parts.append(stringFromScalars(scalars[i..<end]))
            splits += 1
        }
        return parts.reversed()
    }
    if sep.isEmpty { throw Failure(.value, "empty separator") }
    let hay = Array(s.utf8)
    let needle = Array(sep.utf8)
    var parts: [String] = []
    var end = hay.count
    var splits = 0
    while splits < maxsplit, let hit = byteFindLast(hay, needle, from: 0, to: end) {
        parts.append(stringFromBytes(hay[(hit + needle.count)..<end]))
        end = hit
        splits += 1
    }
    parts.append(stringFromBytes(hay[0..<end]))
    return parts.reversed()
}

/// Python's `strip`/`lstrip`/`rstrip`; `chars` nil means whitespace.
func pyStrip(_ s: String, _ chars: String?, left: Bool, right: Bool) -> String {
    let set = chars.map { Set($0.unicodeScalars) }
    let strip: (Unicode.Scalar) -> Bool = { c in set.map { $0.contains(c) } ?? PythonText.isWhitespace(c) }
    let scalars = s.unicodeScalars
    var start = scalars.startIndex
    var end = scalars.endIndex
    if left { while start < end, strip(scalars[start]) { start = scalars.index(after: start) } }
    if right {
        while end > start {
            let before = scalars.index(before: end)
            guard strip(scalars[before]) else { break }
            end = before
        }
    }
    if start == scalars.startIndex && end == scalars.endIndex { return s }
    return String(scalars[start..<end])
}

func pyLower(_ s: String) -> String {
    if s.utf8.allSatisfy({ $0 < 0x80 }) { return s.lowercased() }
    return s.lowercased()
}

func pyUpper(_ s: String) -> String { s.uppercased() }

func pyCapitalize(_ s: String) -> String {
    var out = ""
    for (i, c) in s.unicodeScalars.enumerated() {
        out += i == 0 ? c.properties.titlecaseMapping : c.properties.lowercaseMapping
    }
    return out
}

func pyTitle(_ s: String) -> String {
    var out = ""
    var previousCased = false
    for c in s.unicodeScalars {
        out += previousCased ? c.properties.lowercaseMapping : c.properties.titlecaseMapping
        previousCased = c.properties.isCased
    }
    return out
}

func pySwapcase(_ s: String) -> String {
    var out = ""
    for c in s.unicodeScalars {
        if c.properties.isUppercase { out += c.properties.lowercaseMapping }
        else if c.properties.isLowercase { out += c.properties.uppercaseMapping }
        else { out.unicodeScalars.append(c) }
    }
    return out
}

func isAlpha(_ c: Unicode.Scalar) -> Bool {
    switch c.properties.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
    default: return false
    }
}

func isDecimal(_ c: Unicode.Scalar) -> Bool { c.properties.numericType == .decimal }
func isDigitChar(_ c: Unicode.Scalar) -> Bool { c.properties.numericType == .decimal || c.properties.numericType == .digit }
func isNumericChar(_ c: Unicode.Scalar) -> Bool { c.properties.numericType != nil }
func isAlnum(_ c: Unicode.Scalar) -> Bool { isAlpha(c) || isNumericChar(c) }

func pyIsUpper(_ s: String) -> Bool {
    var cased = false
    for c in s.unicodeScalars {
        if c.properties.isLowercase || c.properties.generalCategory == .titlecaseLetter { return false }
        if c.properties.isUppercase { cased = true }
    }
    return cased
}

func pyIsLower(_ s: String) -> Bool {
    var cased = false
    for c in s.unicodeScalars {
        if c.properties.isUppercase || c.properties.generalCategory == .titlecaseLetter { return false }
        if c.properties.isLowercase { cased = true }
    }
    return cased
}

func pyIsTitle(_ s: String) -> Bool {
    var cased = false
    var previousCased = false
    for c in s.unicodeScalars {
        if c.properties.isUppercase || c.properties.generalCategory == .titlecaseLetter {
            if previousCased { return false }
            previousCased = true
            cased = true
        } else if c.properties.isLowercase {
            if !previousCased { return false }
            previousCased = true
            cased = true
        } else {
            previousCased = false
        }
    }
    return cased
}

/// Python's `str.splitlines` line boundaries.
func isLineBoundary(_ c: Unicode.Scalar) -> Bool {
    switch c.value {
    case 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029: return true
    default: return false
    }
}

func pySplitlines(_ s: String, keepends: Bool) -> [String] {
    let scalars = Array(s.unicodeScalars)
    var lines: [String] = []
    var start = 0
    var i = 0
    while i < scalars.count {
        if isLineBoundary(scalars[i]) {
            var end = i + 1
            if scalars[i] == "\r", end < scalars.count, scalars[end] == "\n" { end += 1 }
            lines.append(stringFromScalars(scalars[start..<(keepends ? end : i)]))
            start = end
            i = end
        } else {
            i += 1
        }
    }
    if start < scalars.count { lines.append(stringFromScalars(scalars[start...])) }
    return lines
}

/// Python's `str.center`, which puts the odd padding character on the left when the width is odd.
func pyCenter(_ s: String, _ width: Int, _ fill: String = " ") -> String {
    let length = s.unicodeScalars.count
    guard width > length else { return s }
    let marg = width - length
    let left = marg / 2 + (marg & width & 1)
    return String(repeating: fill, count: left) + s + String(repeating: fill, count: marg - left)
}

/// Clamps Python slice-style `start`/`end` arguments of `find`, `count`, `startswith`… to `0...length`.
func clampRange(_ start: Int?, _ end: Int?, _ length: Int) -> (Int, Int) {
    var a = start ?? 0
    var b = end ?? length
    if a < 0 { a = max(0, a + length) }
    if b < 0 { b = max(0, b + length) }
    return (min(a, length), min(b, length))
}

/// Byte offset of each code point boundary, for converting between Python and UTF-8 indices.
func scalarByteOffsets(_ s: String) -> [Int] {
    var offsets: [Int] = []
    offsets.reserveCapacity(s.utf8.count + 1)
    var i = 0
    for c in s.unicodeScalars {
        offsets.append(i)
        i += UTF8.width(c)
    }
    offsets.append(i)
    return offsets
}

enum FindDirection { case first, last }

/// Python's `find`/`rfind`: a code point index or -1.
func pyFind(_ s: String, _ sub: String, _ start: Int?, _ end: Int?, _ direction: FindDirection) -> Int {
    let offsets = scalarByteOffsets(s)
    let length = offsets.count - 1
    let (a, b) = clampRange(start, end, length)
    if (start ?? 0) > length { return -1 }
    guard a <= b else { return -1 }
    let hay = Array(s.utf8)
    let needle = Array(sub.utf8)
    let hit: Int?
    switch direction {
    case .first: hit = byteFind(hay, needle, from: offsets[a], to: offsets[b])
    case .last: hit = byteFindLast(hay, needle, from: offsets[a], to: offsets[b])
    }
    guard let hit else { return -1 }
    // Binary search the byte offset back to a code point index.
    var lo = 0
    var hi = length
    while lo < hi {
        let mid = (lo + hi) / 2
        if offsets[mid] < hit { lo = mid + 1 } else { hi = mid }
    }
    return lo
}

func pyCount(_ s: String, _ sub: String, _ start: Int?, _ end: Int?) -> Int {
    let offsets = scalarByteOffsets(s)
    let length = offsets.count - 1
    let (a, b) = clampRange(start, end, length)
    if (start ?? 0) > length { return 0 }
    guard a <= b else { return 0 }
    if sub.isEmpty { return b - a + 1 }
    let hay = Array(s.utf8)
    let needle = Array(sub.utf8)
    var count = 0
    var from = offsets[a]
    while let hit = byteFind(hay, needle, from: from, to: offsets[b]) {
        count += 1
        from = hit + needle.count
    }
    return count
}

func pyStartsEnds(_ s: String, _ affix: String, _ start: Int?, _ end: Int?, ends: Bool) -> Bool {
    let scalars = Array(s.unicodeScalars)
    let (a, b) = clampRange(start, end, scalars.count)
    if (start ?? 0) > scalars.count { return false }
    let part = a <= b ? Array(scalars[a..<b]) : []
    let needle = Array(affix.unicodeScalars)
    if needle.count > part.count { return false }
    return ends ? Array(part.suffix(needle.count)) == needle : Array(part.prefix(needle.count)) == needle
}

/// Python's slice index adjustment (PySlice_AdjustIndices): the indices a slice visits.
func sliceIndices(_ length: Int, _ start: Int?, _ stop: Int?, _ step: Int?) throws(Failure) -> [Int] {
    let st = step ?? 1
    if st == 0 { throw Failure(.value, "slice step cannot be zero") }
    var a: Int
    var b: Int
    if st > 0 {
        a = start.map { $0 < 0 ? max(0, $0 + length) : min($0, length) } ?? 0
        b = stop.map { $0 < 0 ? max(0, $0 + length) : min($0, length) } ?? length
        guard a < b else { return [] }
        return Array(stride(from: a, to: b, by: st))
    } else {
        a = start.map { $0 < 0 ? max(-1, $0 + length) : min($0, length - 1) } ?? (length - 1)
        b = stop.map { $0 < 0 ? max(-1, $0 + length) : min($0, length - 1) } ?? -1
        guard a > b else { return [] }
        return Array(stride(from: a, to: b, by: st))
    }
}

/// Method names Python's `str` has; attribute access on a string finds these before anything else.
let stringMethodNames: Set<String> = [
    "split", "rsplit", "strip", "lstrip", "rstrip", "lower", "upper", "replace", "startswith", "endswith", "index",
    "rindex", "find", "rfind", "count", "join", "capitalize", "title", "format", "isdigit", "isalpha", "isalnum",
    "isupper", "islower", "isspace", "isdecimal", "isnumeric", "istitle", "isascii", "isidentifier", "isprintable",
    "splitlines", "zfill", "center", "ljust", "rjust", "swapcase", "casefold", "partition", "rpartition",
    "removeprefix", "removesuffix", "expandtabs", "encode", "format_map", "translate", "maketrans",
]
