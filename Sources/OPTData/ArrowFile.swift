import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory map of a whole file (unmapped when released).
final class MappedFile: @unchecked Sendable {
    let bytes: UnsafeRawBufferPointer
    private let base: UnsafeMutableRawPointer?

    /// A copy of `bytes` in memory, standing in for a mapped file (tests).
    init(copying bytes: [UInt8]) {
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        p.copyMemory(from: bytes, byteCount: bytes.count)
        base = p
        self.bytes = UnsafeRawBufferPointer(start: p, count: bytes.count)
        owned = true
    }

    private var owned = false

    init(_ url: URL) throws(DataError) {
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else { throw DataError(.unreadable(String(cString: strerror(errno))), url: url) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw DataError(.unreadable(String(cString: strerror(errno))), url: url) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw DataError(.unreadable("not a regular file"), url: url) }
        let size = Int(info.st_size)
        if size == 0 {
            base = nil
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else { throw DataError(.unreadable("mmap: \(String(cString: strerror(errno)))"), url: url) }
        base = p
        bytes = UnsafeRawBufferPointer(start: p, count: size)
    }

    deinit {
        if let base { if owned { base.deallocate() } else { munmap(base, bytes.count) } }
    }
}

/// An Arrow IPC file as `datasets` writes it: the stream format (cache files, `save_to_disk` shards),
/// or the file format (`ARROW1` magic). The file is memory-mapped; opening walks the message headers to index
/// the record batches (the schema first; dictionary batches and compressed buffers are refused), and rows are
/// decoded on demand from one record batch, every offset and length checked against the file.
public final class ArrowFile: @unchecked Sendable {
    struct Batch {
        var index: Int
        var metadata: Range<Int>   // the Message flatbuffer
        var body: Range<Int>
        var rows: Int
        var firstRow: Int
    }

    public let url: URL
    public let schema: ArrowSchema
    /// Total rows over all record batches.
    public let count: Int
    let map: MappedFile
    let batches: [Batch]

    /// Number of record batches.
    public var batchCount: Int { batches.count }

    public convenience init(_ url: URL) throws(DataError) {
        try self.init(url, map: MappedFile(url))
    }

    init(_ url: URL, map: MappedFile) throws(DataError) {
        self.url = url
        self.map = map
        let bytes = map.bytes
        let total = bytes.count
        func fail(_ e: ArrowParseError, _ at: Int) -> DataError { e.dataError(url, location: "message at byte \(at)") }

        // Where the messages are: the whole file (stream), or between the magic and the footer (file format).
        let magic: [UInt8] = Array("ARROW1".utf8)
        var pos = 0
        var end = total
        let isFileFormat = total >= 6 && zip(bytes.prefix(6), magic).allSatisfy { $0 == $1 }
        if isFileFormat {
            guard total >= 8 + 4 + 6 else { throw DataError(.truncated("shorter than an Arrow file's magic and footer"), url: url) }
            guard zip(bytes.suffix(6), magic).allSatisfy({ $0 == $1 }) else {
                throw DataError(.truncated("no ARROW1 magic at the end (the footer is missing)"), url: url)
            }
            let footerLength = Int(Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: total - 10, as: Int32.self)))
            guard footerLength >= 0, footerLength <= total - 18 else {
                throw DataError(.corrupt("footer length \(footerLength)"), url: url, location: "footer")
            }
            pos = 8
            end = total - 10 - footerLength
        } else if total < 8 {
            // A prefix of a stream's continuation marker or of the file magic: cut short; else not Arrow.
            let head = Array(bytes)
            let looksArrow = head.prefix(4).allSatisfy { $0 == 0xFF } || magic.starts(with: head.prefix(6))
            throw DataError(total == 0 ? .truncated("empty file") : looksArrow ? .truncated("only \(total) bytes") : .badMagic, url: url)
        }
        // A stream whose first message has the continuation marker is Arrow; without it (the pre-0.15 format)
        // the first message must parse as a schema before errors are called corruption rather than bad magic.
        let marked = isFileFormat || Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: Int32.self)) == -1

        var schema: ArrowSchema?
        var batches: [Batch] = []
        var rows = 0
        var sawEnd = false
        while pos < end {
            let messageStart = pos
            guard end - pos >= 4 else { throw fail(.truncated("message header cut short"), messageStart) }
            var length = Int(Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: pos, as: Int32.self)))
            if length == -1 {  // continuation marker, then the length
                guard end - pos >= 8 else { throw fail(.truncated("message header cut short"), messageStart) }
                length = Int(Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: pos + 4, as: Int32.self)))
                pos += 8
            } else {
                pos += 4  // the pre-0.15 format: just the length
            }
            if length == 0 { sawEnd = true; break }  // end of stream
            guard length > 0 else {
                throw schema == nil && !marked ? DataError(.badMagic, url: url) : fail(.corrupt("message length \(length)"), messageStart)
            }
            guard length <= end - pos else {
                if schema == nil && !marked && length > 1 << 26 { throw DataError(.badMagic, url: url) }
                throw fail(.truncated("message metadata of \(length) bytes past the end"), messageStart)
            }
            let metadata = pos..<(pos + length)
            let header: (type: UInt8, bodyLength: Int, table: FBTable)
            do throws(FlatBufferError) {
                let message = try FlatBuffer(UnsafeRawBufferPointer(rebasing: bytes[metadata])).root()
                let type = try message.scalar(1, default: UInt8(0))
                let bodyLength = Int(try message.scalar(3, default: Int64(0)))
                guard let table = try message.table(2) else { throw FlatBufferError(message: "message without a header") }
                header = (type, bodyLength, table)
            } catch {
                if schema == nil && !marked { throw DataError(.badMagic, url: url) }
                throw fail(.corrupt("message: \(error.message)"), messageStart)
            }
            pos = metadata.upperBound
            guard header.bodyLength >= 0 else { throw fail(.corrupt("body length \(header.bodyLength)"), messageStart) }
            guard header.bodyLength <= end - pos else {
                throw fail(.truncated("message body of \(header.bodyLength) bytes past the end"), messageStart)
            }
            let body = pos..<(pos + header.bodyLength)
            pos = body.upperBound
            switch header.type {
            case 1:
                guard schema == nil else { throw fail(.corrupt("a second schema"), messageStart) }
                do { schema = try ArrowSchema.parse(header.table) } catch { throw fail(error, messageStart) }
            case 2:
                throw fail(.unsupported("dictionary batches (dictionary-encoded columns)"), messageStart)
            case 3:
                guard schema != nil else {
                    throw marked ? fail(.corrupt("record batch before the schema"), messageStart) : DataError(.badMagic, url: url)
                }
                let length: Int64
                var compressed = false
                do throws(FlatBufferError) {
                    length = try header.table.scalar(0, default: Int64(0))
                    compressed = try header.table.table(3) != nil
                } catch {
                    throw fail(.corrupt("record batch: \(error.message)"), messageStart)
                }
                if compressed {
                    throw fail(.unsupported("compressed buffers (datasets does not compress; rewrite the file without compression)"), messageStart)
                }
                guard length >= 0, length <= Int64(Int32.max) else {
                    throw fail(.corrupt("record batch of \(length) rows"), messageStart)
                }
                batches.append(Batch(index: batches.count, metadata: metadata, body: body, rows: Int(length), firstRow: rows))
                rows += Int(length)
            default:
                if schema == nil && !marked { throw DataError(.badMagic, url: url) }
                throw fail(.unsupported("message type \(header.type)"), messageStart)
            }
        }
        guard let schema else {
            throw DataError(total <= 8 || sawEnd ? .truncated("no schema") : .badMagic, url: url)
        }
        if !sawEnd && !isFileFormat {
            throw DataError(.truncated("no end-of-stream marker"), url: url, location: "byte \(pos)")
        }
        self.schema = schema
        self.batches = batches
        self.count = rows
    }

    /// The features `datasets` stored in the schema metadata (`huggingface` → `info.features`), if any.
    public var features: Features? {
        guard let json = schema.metadata["huggingface"] else { return nil }
        return try? Features.parse(metadataJSON: json)
    }

    /// Row `index` (0-based over the whole file), decoding only its record batch's metadata and its values.
    public func row(at index: Int) throws(DataError) -> DatasetRow {
        guard index >= 0, index < count else { throw DataError(.rowOutOfRange(index, count: count), url: url) }
        let batch = try layout(batchContaining: index)
        return try batch.row(index - batches[batch.index].firstRow)
    }

    /// Rows `range`, batch by batch.
    public func rows(_ range: Range<Int>) throws(DataError) -> [DatasetRow] {
        guard range.lowerBound >= 0, range.upperBound <= count else {
            throw DataError(.rowOutOfRange(range.lowerBound < 0 ? range.lowerBound : range.upperBound - 1, count: count), url: url)
        }
        var out: [DatasetRow] = []
        out.reserveCapacity(range.count)
        guard !range.isEmpty else { return out }
        var batch = try layout(batchContaining: range.lowerBound)
        for index in range {
            if index >= batches[batch.index].firstRow + batches[batch.index].rows {
                batch = try layout(batchContaining: index)
            }
            out.append(try batch.row(index - batches[batch.index].firstRow))
        }
        return out
    }

    /// Calls `body` with each row of `range` (all rows by default) in order, until it returns false.
    public func forEachRow(in range: Range<Int>? = nil, _ body: (Int, DatasetRow) throws -> Bool) throws {
        let range = range ?? 0..<count
        guard !range.isEmpty else { return }
        guard range.lowerBound >= 0, range.upperBound <= count else {
            throw DataError(.rowOutOfRange(range.upperBound - 1, count: count), url: url)
        }
        var batch = try layout(batchContaining: range.lowerBound)
        for index in range {
            if index >= batches[batch.index].firstRow + batches[batch.index].rows {
                batch = try layout(batchContaining: index)
            }
            let row = try batch.row(index - batches[batch.index].firstRow)
            if try !body(index, row) { return }
        }
    }

    func batchIndex(containing row: Int) -> Int {
        var lo = 0, hi = batches.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if batches[mid].firstRow <= row { lo = mid } else { hi = mid - 1 }
        }
        // Skip empty batches that start at the same row.
        while lo < batches.count - 1 && batches[lo].rows == 0 { lo += 1 }
        return lo
    }

    func layout(batchContaining row: Int) throws(DataError) -> BatchLayout {
        try layout(batch: batchIndex(containing: row))
    }

    /// The checked layout of record batch `index`: every column's nodes and buffers located in the body.
    func layout(batch index: Int) throws(DataError) -> BatchLayout {
        try BatchLayout(file: self, batch: batches[index])
    }
}

/// One column (or child array) of a record batch: its length, validity bitmap and buffers, all checked to be
/// inside the batch body and large enough for the length.
struct ColumnLayout {
    let field: ArrowField
    let length: Int
    let validity: Int?        // absolute position of the bitmap, nil when no nulls
    let buffers: [Range<Int>] // absolute ranges of the other buffers
    let children: [ColumnLayout]
}

struct BatchLayout {
    let file: ArrowFile
    let index: Int
    let rows: Int
    let columns: [ColumnLayout]
    let bytes: UnsafeRawBufferPointer
    /// The most elements one list value may have: bounds memory on corrupt offsets.
    let maxListLength: Int

    init(file: ArrowFile, batch: ArrowFile.Batch) throws(DataError) {
        self.file = file
        index = batch.index
        rows = batch.rows
        bytes = file.map.bytes
        maxListLength = max(1 << 16, batch.body.count * 8)
        let location = "record batch \(batch.index)"
        var nodes: (count: Int, start: Int) = (0, 0)
        var buffers: (count: Int, start: Int) = (0, 0)
        let fb = FlatBuffer(UnsafeRawBufferPointer(rebasing: file.map.bytes[batch.metadata]))
        do {
            let message = try fb.root()
            guard let header = try message.table(2) else { throw FlatBufferError(message: "message without a header") }
            if try header.table(3) != nil {
                throw DataError(.unsupported("compressed buffers (datasets does not compress; re-save without compression)"),
                                url: file.url, location: location)
            }
            nodes = try header.vector(1, elementSize: 16) ?? (0, 0)
            buffers = try header.vector(2, elementSize: 16) ?? (0, 0)
        } catch let error as FlatBufferError {
            throw DataError(.corrupt(error.message), url: file.url, location: location)
        } catch let error as DataError {
            throw error
        } catch {
            throw DataError(.corrupt("\(error)"), url: file.url, location: location)
        }
        var builder = LayoutBuilder(fb: fb, nodes: nodes, buffers: buffers, body: batch.body, url: file.url, location: location)
        var columns: [ColumnLayout] = []
        for field in file.schema.fields {
            let column = try builder.column(field, top: field.name)
            guard column.length >= batch.rows else {
                throw DataError(.corrupt("column of \(column.length) rows in a batch of \(batch.rows)"), url: file.url,
                                location: "\(location), column '\(field.name)'")
            }
            columns.append(column)
        }
        self.columns = columns
    }

    /// Row `i` of this batch.
    func row(_ i: Int) throws(DataError) -> DatasetRow {
        var fields: [DatasetRow.Field] = []
        fields.reserveCapacity(columns.count)
        for column in columns {
            do throws(FlatBufferError) {
                fields.append((key: column.field.name, value: try value(column, i)))
            } catch {
                throw DataError(.corrupt(error.message), url: file.url,
                                location: "record batch \(index), column '\(column.field.name)', row \(i)")
            }
        }
        return DatasetRow(fields)
    }

    // MARK: Decoding (positions are checked by LayoutBuilder; offsets read from buffers are checked here).

    @inline(__always)
    private func load<T: FixedWidthInteger>(_ at: Int, _: T.Type) -> T {
        T(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: T.self))
    }

    /// The `[start, end)` offsets of element `i` from an offsets buffer, checked against `limit`.
    private func offsets(_ buffer: Range<Int>, _ i: Int, large: Bool, limit: Int) throws(FlatBufferError) -> Range<Int> {
        let start: Int, end: Int
        if large {
            start = Int(load(buffer.lowerBound + 8 * i, Int64.self))
            end = Int(load(buffer.lowerBound + 8 * i + 8, Int64.self))
        } else {
            start = Int(load(buffer.lowerBound + 4 * i, Int32.self))
            end = Int(load(buffer.lowerBound + 4 * i + 4, Int32.self))
        }
        guard start >= 0, start <= end, end <= limit else {
            throw FlatBufferError(message: "offsets \(start)..<\(end) outside 0..<\(limit) at element \(i)")
        }
        return start..<end
    }

    private func value(_ c: ColumnLayout, _ i: Int) throws(FlatBufferError) -> DatasetValue {
        if let v = c.validity, load(v + i / 8, UInt8.self) & (1 << UInt8(i % 8)) == 0 { return .null }
        switch c.field.type {
        case .null:
            return .null
        case .bool:
            return .bool(load(c.buffers[0].lowerBound + i / 8, UInt8.self) & (1 << UInt8(i % 8)) != 0)
        case let .int(bits, signed):
            let at = c.buffers[0].lowerBound + i * bits / 8
            switch (bits, signed) {
            case (8, true): return .int(Int64(load(at, Int8.self)))
            case (8, false): return .int(Int64(load(at, UInt8.self)))
            case (16, true): return .int(Int64(load(at, Int16.self)))
            case (16, false): return .int(Int64(load(at, UInt16.self)))
            case (32, true): return .int(Int64(load(at, Int32.self)))
            case (32, false): return .int(Int64(load(at, UInt32.self)))
            case (64, true): return .int(load(at, Int64.self))
            default:
                let u = load(at, UInt64.self)
                return u <= UInt64(Int64.max) ? .int(Int64(u)) : .double(Double(u))
            }
        case .temporal(_, let bits):
            let at = c.buffers[0].lowerBound + i * bits / 8
            return .int(bits == 32 ? Int64(load(at, Int32.self)) : load(at, Int64.self))
        case .float(let bits):
            let at = c.buffers[0].lowerBound + i * bits / 8
            switch bits {
            case 16: return .double(Self.half(load(at, UInt16.self)))
            case 32: return .double(Double(Float(bitPattern: load(at, UInt32.self))))
            default: return .double(Double(bitPattern: load(at, UInt64.self)))
            }
        case .utf8, .largeUtf8, .binary, .largeBinary:
            let large = c.field.type == .largeUtf8 || c.field.type == .largeBinary
            let data = c.buffers[1]
            let r = try offsets(c.buffers[0], i, large: large, limit: data.count)
            let slice = UnsafeRawBufferPointer(rebasing: bytes[(data.lowerBound + r.lowerBound)..<(data.lowerBound + r.upperBound)])
            if c.field.type == .binary || c.field.type == .largeBinary { return .bytes(Array(slice)) }
            guard let s = validUTF8(slice) else {
                throw FlatBufferError(message: "invalid UTF-8 in a string")
            }
            return .string(s)
        case .fixedSizeBinary(let width):
            let at = c.buffers[0].lowerBound + i * width
            return .bytes(Array(UnsafeRawBufferPointer(rebasing: bytes[at..<(at + width)])))
        case .list, .largeList, .map:
            let child = c.children[0]
            let large: Bool
            if case .largeList = c.field.type { large = true } else { large = false }
            let r = try offsets(c.buffers[0], i, large: large, limit: child.length)
            guard r.count <= maxListLength else { throw FlatBufferError(message: "a list of \(r.count) elements") }
            var items: [DatasetValue] = []
            items.reserveCapacity(r.count)
            for j in r { items.append(try value(child, j)) }
            return .list(items)
        case .fixedSizeList(_, let size):
            let child = c.children[0]
            guard size <= maxListLength else { throw FlatBufferError(message: "a list of \(size) elements") }
            var items: [DatasetValue] = []
            items.reserveCapacity(size)
            for j in (i * size)..<(i * size + size) { items.append(try value(child, j)) }
            return .list(items)
        case .structure:
            var fields: [DatasetRow.Field] = []
            fields.reserveCapacity(c.children.count)
            for child in c.children { fields.append((key: child.field.name, value: try value(child, i))) }
            return .record(DatasetRow(fields))
        }
    }

    /// An IEEE half-precision value.
    static func half(_ bits: UInt16) -> Double {
        let sign: Double = bits & 0x8000 != 0 ? -1 : 1
        let exponent = Int((bits >> 10) & 0x1F)
        let fraction = Double(bits & 0x3FF)
        switch exponent {
        case 0: return sign * fraction * 0x1p-24
        case 31: return fraction == 0 ? sign * .infinity : .nan
        default: return sign * (1 + fraction / 1024) * Double(sign: .plus, exponent: exponent - 15, significand: 1)
        }
    }
}

/// Walks a RecordBatch's field nodes and buffers in schema order, checking each against the body.
private struct LayoutBuilder {
    let fb: FlatBuffer
    let nodes: (count: Int, start: Int)
    let buffers: (count: Int, start: Int)
    let body: Range<Int>
    let url: URL
    let location: String
    var nextNode = 0
    var nextBuffer = 0

    init(fb: FlatBuffer, nodes: (count: Int, start: Int), buffers: (count: Int, start: Int), body: Range<Int>, url: URL, location: String) {
        self.fb = fb
        self.nodes = nodes
        self.buffers = buffers
        self.body = body
        self.url = url
        self.location = location
    }

    private func fail(_ why: String, _ top: String) -> DataError {
        DataError(.corrupt(why), url: url, location: "\(location), column '\(top)'")
    }

    private mutating func node(_ top: String) throws(DataError) -> (length: Int, nulls: Int) {
        guard nextNode < nodes.count else { throw fail("fewer field nodes than columns", top) }
        let at = nodes.start + 16 * nextNode
        nextNode += 1
        do throws(FlatBufferError) {
            let length = try fb.load(at, as: Int64.self)
            let nulls = try fb.load(at + 8, as: Int64.self)
            guard length >= 0, length <= Int64(Int32.max) * 8, nulls >= 0, nulls <= length else {
                throw FlatBufferError(message: "field node of length \(length) with \(nulls) nulls")
            }
            return (Int(length), Int(nulls))
        } catch { throw fail(error.message, top) }
    }

    /// The next buffer as an absolute range, checked to lie in the body.
    private mutating func buffer(_ top: String) throws(DataError) -> Range<Int> {
        guard nextBuffer < buffers.count else { throw fail("fewer buffers than the columns need", top) }
        let at = buffers.start + 16 * nextBuffer
        nextBuffer += 1
        do throws(FlatBufferError) {
            let offset = try fb.load(at, as: Int64.self)
            let length = try fb.load(at + 8, as: Int64.self)
            guard offset >= 0, length >= 0, offset <= Int64(body.count), length <= Int64(body.count) - offset else {
                throw FlatBufferError(message: "buffer \(nextBuffer - 1) at \(offset) of \(length) bytes outside the \(body.count)-byte body")
            }
            return (body.lowerBound + Int(offset))..<(body.lowerBound + Int(offset) + Int(length))
        } catch { throw fail(error.message, top) }
    }

    /// Requires `buffer` to hold `count` items of `size` bytes.
    private func need(_ buffer: Range<Int>, _ count: Int, _ size: Int, _ what: String, _ top: String) throws(DataError) {
        let (bytes, overflow) = count.multipliedReportingOverflow(by: size)
        guard !overflow, buffer.count >= bytes else {
            throw fail("\(what) buffer of \(buffer.count) bytes for \(count) values", top)
        }
    }

    mutating func column(_ field: ArrowField, top: String) throws(DataError) -> ColumnLayout {
        let (length, nulls) = try node(top)
        var validity: Int? = nil
        if field.type != .null {
            let v = try buffer(top)
            if nulls > 0 {
                try need(v, (length + 7) / 8, 1, "validity", top)
                validity = v.lowerBound
            }
        }
        var buffers: [Range<Int>] = []
        var children: [ColumnLayout] = []
        switch field.type {
        case .null:
            break
        case .bool:
            let data = try buffer(top)
            try need(data, (length + 7) / 8, 1, "bool", top)
            buffers = [data]
        case .int(let bits, _), .float(let bits), .temporal(_, let bits):
            let data = try buffer(top)
            try need(data, length, bits / 8, "data", top)
            buffers = [data]
        case .fixedSizeBinary(let width):
            let data = try buffer(top)
            try need(data, length, width, "data", top)
            buffers = [data]
        case .utf8, .binary, .largeUtf8, .largeBinary:
            let large = field.type == .largeUtf8 || field.type == .largeBinary
            let offsets = try buffer(top)
            let data = try buffer(top)
            if length > 0 { try need(offsets, length + 1, large ? 8 : 4, "offsets", top) }
            buffers = [offsets, data]
        case .list(let child), .largeList(let child), .map(let child):
            var large = false
            if case .largeList = field.type { large = true }
            let offsets = try buffer(top)
            if length > 0 { try need(offsets, length + 1, large ? 8 : 4, "offsets", top) }
            buffers = [offsets]
            children = [try column(child, top: top)]
        case .fixedSizeList(let child, let size):
            let c = try column(child, top: top)
            let (needed, overflow) = length.multipliedReportingOverflow(by: size)
            guard !overflow, c.length >= needed else { throw fail("fixed-size list child of \(c.length) values for \(length) lists", top) }
            children = [c]
        case .structure(let fields):
            for f in fields {
                let c = try column(f, top: top)
                guard c.length >= length else { throw fail("struct field '\(f.name)' of \(c.length) values for \(length)", top) }
                children.append(c)
            }
        }
        return ColumnLayout(field: field, length: length, validity: validity, buffers: buffers, children: children)
    }
}
