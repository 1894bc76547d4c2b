import Foundation

/// A failure reading flatbuffers: an offset or length outside the buffer.
struct FlatBufferError: Error {
    var message: String
}

/// A bounds-checked view of one flatbuffer (an Arrow message's metadata). Every read checks its offset
/// and length against the buffer, so corrupt metadata fails with an error instead of reading out of bounds.
struct FlatBuffer {
    let bytes: UnsafeRawBufferPointer

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    func load<T: FixedWidthInteger>(_ offset: Int, as: T.Type = T.self) throws(FlatBufferError) -> T {
        guard offset >= 0, offset <= bytes.count - MemoryLayout<T>.size else {
            throw FlatBufferError(message: "offset \(offset) outside the \(bytes.count)-byte flatbuffer")
        }
        return T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// The root table.
    func root() throws(FlatBufferError) -> FBTable {
        let offset = Int(try load(0, as: UInt32.self))
        return try FBTable(self, at: offset)
    }
}

/// A flatbuffer table: its position and its vtable.
struct FBTable {
    let fb: FlatBuffer
    let position: Int
    private let vtable: Int
    private let vtableSize: Int

    init(_ fb: FlatBuffer, at position: Int) throws(FlatBufferError) {
        self.fb = fb
        self.position = position
        let soffset = Int(try fb.load(position, as: Int32.self))
        vtable = position - soffset
        vtableSize = Int(try fb.load(vtable, as: UInt16.self))
        guard vtableSize >= 4, vtableSize % 2 == 0, vtable + vtableSize <= fb.bytes.count else {
            throw FlatBufferError(message: "bad vtable at \(vtable)")
        }
    }

    /// The offset of field `index` from the table start, or nil when absent.
    private func fieldOffset(_ index: Int) throws(FlatBufferError) -> Int? {
        let entry = 4 + 2 * index
        guard entry + 2 <= vtableSize else { return nil }
        let off = Int(try fb.load(vtable + entry, as: UInt16.self))
        return off == 0 ? nil : position + off
    }

    func scalar<T: FixedWidthInteger>(_ index: Int, default value: T) throws(FlatBufferError) -> T {
        guard let at = try fieldOffset(index) else { return value }
        return try fb.load(at, as: T.self)
    }

    func bool(_ index: Int) throws(FlatBufferError) -> Bool { try scalar(index, default: UInt8(0)) != 0 }

    /// Where an offset field points (uoffset relative to the field), or nil when absent.
    private func indirect(_ index: Int) throws(FlatBufferError) -> Int? {
        guard let at = try fieldOffset(index) else { return nil }
        let target = at + Int(try fb.load(at, as: UInt32.self))
        guard target < fb.bytes.count else { throw FlatBufferError(message: "field \(index) points outside the flatbuffer") }
        return target
    }

    func table(_ index: Int) throws(FlatBufferError) -> FBTable? {
        guard let at = try indirect(index) else { return nil }
        return try FBTable(fb, at: at)
    }

    func string(_ index: Int) throws(FlatBufferError) -> String? {
        guard let at = try indirect(index) else { return nil }
        let length = Int(try fb.load(at, as: UInt32.self))
        guard length <= fb.bytes.count - at - 4 else { throw FlatBufferError(message: "string of \(length) bytes past the end") }
        let slice = UnsafeRawBufferPointer(rebasing: fb.bytes[(at + 4)..<(at + 4 + length)])
        return String(decoding: slice, as: UTF8.self)
    }

    /// A vector field: its element count and the position of its first element, checked to fit `elementSize`.
    func vector(_ index: Int, elementSize: Int) throws(FlatBufferError) -> (count: Int, start: Int)? {
        guard let at = try indirect(index) else { return nil }
        let count = Int(try fb.load(at, as: UInt32.self))
        guard count <= (fb.bytes.count - at - 4) / elementSize else {
            throw FlatBufferError(message: "vector of \(count) elements past the end")
        }
        return (count, at + 4)
    }

    /// A vector of tables.
    func tables(_ index: Int) throws(FlatBufferError) -> [FBTable] {
        guard let (count, start) = try vector(index, elementSize: 4) else { return [] }
        var out: [FBTable] = []
        out.reserveCapacity(count)
        for i in 0..<count {
            let at = start + 4 * i
            out.append(try FBTable(fb, at: at + Int(try fb.load(at, as: UInt32.self))))
        }
        return out
    }
}
