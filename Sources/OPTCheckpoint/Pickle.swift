import Foundation

/// A tensor as a torch pickle describes it: a view (offset, shape, strides) into a storage.
struct PickledTensor {
    /// The storage's key: its data lives in `<archive>/data/<key>`.
    var storageKey: String
    /// Size of the storage in bytes, as the pickle declares it.
    var storageByteCount: Int
    /// Element type of the tensor.
    var dtype: TensorDType
    /// Offset of element (0, 0, …) into the storage, in elements.
    var offset: Int
    var shape: [Int]
    var strides: [Int]
}

/// The only globals a torch state dict refers to; anything else is refused before it becomes a value.
enum PickleGlobal: Equatable {
    case orderedDict
    case rebuildTensorV2
    case rebuildTensorV3
    case rebuildParameter
    case rebuildParameterWithState
    /// `torch.FloatStorage` and kin: a typed storage class.
    case typedStorage(TensorDType)
    /// `torch.UntypedStorage`: a byte storage whose tensor dtype comes separately (`_rebuild_tensor_v3`).
    case untypedStorage
    /// `torch.float16` and kin.
    case dtype(TensorDType)

    private static let storageTypes: [String: TensorDType] = [
        "FloatStorage": .f32, "HalfStorage": .f16, "BFloat16Storage": .bf16, "DoubleStorage": .f64,
        "LongStorage": .i64, "IntStorage": .i32, "ShortStorage": .i16, "CharStorage": .i8,
        "ByteStorage": .u8, "BoolStorage": .bool,
    ]
    private static let dtypes: [String: TensorDType] = [
        "float32": .f32, "float": .f32, "float16": .f16, "half": .f16, "bfloat16": .bf16,
        "float64": .f64, "double": .f64, "int64": .i64, "long": .i64, "int32": .i32, "int": .i32,
        "int16": .i16, "short": .i16, "int8": .i8, "uint8": .u8, "bool": .bool, "uint16": .u16,
        "uint32": .u32, "uint64": .u64, "float8_e4m3fn": .f8e4m3, "float8_e5m2": .f8e5m2,
    ]

    /// The allowed global `module.name`, nil for every other.
    init?(module: String, name: String) {
        switch (module, name) {
        case ("collections", "OrderedDict"): self = .orderedDict
        case ("torch._utils", "_rebuild_tensor_v2"): self = .rebuildTensorV2
        case ("torch._utils", "_rebuild_tensor_v3"): self = .rebuildTensorV3
        case ("torch._utils", "_rebuild_parameter"): self = .rebuildParameter
        case ("torch._utils", "_rebuild_parameter_with_state"): self = .rebuildParameterWithState
        case ("torch", "UntypedStorage"), ("torch.storage", "UntypedStorage"): self = .untypedStorage
        case ("torch", _):
            if let dtype = Self.storageTypes[name] {
                self = .typedStorage(dtype)
            } else if let dtype = Self.dtypes[name] {
                self = .dtype(dtype)
            } else {
                return nil
            }
        default: return nil
        }
    }
}

/// A value on the unpickler's stack. Containers live in an arena and are referred to by index,
/// so that shared and cyclic references behave as in Python and no value nests inside another
/// (a deeply nested hostile pickle cannot overflow the stack when values are freed).
enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    /// Byte strings are accepted but never needed, so their contents are dropped.
    case bytes
    case global(PickleGlobal)
    /// A list, tuple or dict: an index into the unpickler's object arena.
    case object(Int)
    /// What a persistent id resolves to: a storage in the archive.
    case storage(key: String, dtype: TensorDType?, byteCount: Int)
    case tensor(PickledTensor)
}

/// A list, tuple or dict built by the pickle.
struct PickleObject {
    enum Kind { case list, tuple, dict }
    var kind: Kind
    var items: [PickleValue] = []
    var pairs: [(key: PickleValue, value: PickleValue)] = []
}

/// A restricted unpickler for torch state dicts (pickle protocols 2–5).
///
/// It never imports or calls anything: the few callables a state dict uses (`OrderedDict`,
/// `_rebuild_tensor_v2/v3`, `_rebuild_parameter`) are interpreted here, and any other global is
/// refused with `CheckpointError.forbiddenGlobal`.
struct Unpickler {
    private let url: URL
    private let bytes: UnsafeRawBufferPointer
    private var position = 0
    private var opcodeStart = 0
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    private var objects: [PickleObject] = []

    /// Prepares to read the pickle `bytes`, which came from `url` (named in errors).
    init(bytes: UnsafeRawBufferPointer, url: URL) {
        self.url = url
        self.bytes = bytes
    }

    /// Runs the pickle and returns its top-level dict as (name, tensor) pairs in pickle order
    /// (a repeated key appears twice; the caller keeps the last, as Python's dict does).
    mutating func loadStateDict() throws -> [(name: String, tensor: PickledTensor)] {
        let result = try run()
        guard case .object(let index) = result, objects[index].kind == .dict else {
            throw CheckpointError.notAStateDict(url, reason: "the pickle holds \(kindName(result)), not a dict")
        }
        return try objects[index].pairs.map { key, value in
            guard case .string(let name) = key else {
                throw CheckpointError.notAStateDict(url, reason: "a key is \(kindName(key)), not a string")
            }
            guard case .tensor(let tensor) = value else {
                throw CheckpointError.notAStateDict(url, reason: "the value of '\(name)' is \(kindName(value)), not a tensor")
            }
            return (name, tensor)
        }
    }

    // MARK: - The opcode loop

    private mutating func run() throws -> PickleValue {
        while true {
            opcodeStart = position
            let opcode = try readByte()
            switch opcode {
            case 0x80: // PROTO
                let version = try readByte()
                guard (2 ... 5).contains(version) else { throw invalid("unsupported pickle protocol \(version)") }
            case 0x95: // FRAME: a length prefix for buffering, no meaning of its own
                _ = try read(8)
            case 0x2E: // STOP
                return try pop()
            case 0x28: // MARK
                marks.append(stack.count)
            case 0x30: // POP
                _ = try pop()
            case 0x31: // POP_MARK
                _ = try popToMark()
            case 0x32: // DUP
                try push(top())
            case 0x4E: // NONE
                push(.none)
            case 0x88: // NEWTRUE
                push(.bool(true))
            case 0x89: // NEWFALSE
                push(.bool(false))
            case 0x4A: // BININT
                push(.int(Int(Int32(bitPattern: try readUInt32()))))
            case 0x4B: // BININT1
                push(.int(Int(try readByte())))
            case 0x4D: // BININT2
                push(.int(Int(try readUInt16())))
            case 0x8A: // LONG1
                push(.int(try readLong(byteCount: Int(try readByte()))))
            case 0x8B: // LONG4
                push(.int(try readLong(byteCount: Int(Int32(bitPattern: try readUInt32())))))
            case 0x47: // BINFLOAT, big-endian
                let raw = try read(8)
                push(.float(Double(bitPattern: raw.reduce(UInt64(0)) { $0 << 8 | UInt64($1) })))
            case 0x58: // BINUNICODE
                push(.string(try readString(byteCount: Int(try readUInt32()))))
            case 0x8C: // SHORT_BINUNICODE
                push(.string(try readString(byteCount: Int(try readByte()))))
            case 0x8D: // BINUNICODE8
                push(.string(try readString(byteCount: try readLength64())))
            case 0x54: // BINSTRING: Python 2 str, decoded as torch.load does (UTF-8)
                push(.string(try readString(byteCount: Int(Int32(bitPattern: try readUInt32())))))
            case 0x55: // SHORT_BINSTRING
                push(.string(try readString(byteCount: Int(try readByte()))))
            case 0x42: // BINBYTES
                _ = try read(Int(try readUInt32()))
                push(.bytes)
            case 0x43: // SHORT_BINBYTES
                _ = try read(Int(try readByte()))
                push(.bytes)
            case 0x8E: // BINBYTES8
                _ = try read(try readLength64())
                push(.bytes)
            case 0x29: // EMPTY_TUPLE
                push(newObject(.tuple))
            case 0x74: // TUPLE
                push(newObject(.tuple, items: try popToMark()))
            case 0x85, 0x86, 0x87: // TUPLE1, TUPLE2, TUPLE3
                let count = Int(opcode - 0x84)
                guard stack.count >= count else { throw invalid("stack underflow") }
                let items = Array(stack.suffix(count))
                stack.removeLast(count)
                push(newObject(.tuple, items: items))
            case 0x5D: // EMPTY_LIST
                push(newObject(.list))
            case 0x6C: // LIST
                push(newObject(.list, items: try popToMark()))
            case 0x61: // APPEND
                let item = try pop()
                let list = try listIndex(top())
                objects[list].items.append(item)
            case 0x65: // APPENDS
                let items = try popToMark()
                let list = try listIndex(top())
                objects[list].items.append(contentsOf: items)
            case 0x7D: // EMPTY_DICT
                push(newObject(.dict))
            case 0x64: // DICT
                let dict = newObject(.dict)
                try setItems(try popToMark(), in: dict)
                push(dict)
            case 0x73: // SETITEM
                let value = try pop()
                let key = try pop()
                try setItems([key, value], in: top())
            case 0x75: // SETITEMS
                let items = try popToMark()
                try setItems(items, in: top())
            case 0x71: // BINPUT
                memo[Int(try readByte())] = try top()
            case 0x72: // LONG_BINPUT
                memo[Int(try readUInt32())] = try top()
            case 0x94: // MEMOIZE
                memo[memo.count] = try top()
            case 0x68: // BINGET
                try push(memoValue(Int(try readByte())))
            case 0x6A: // LONG_BINGET
                try push(memoValue(Int(try readUInt32())))
            case 0x63: // GLOBAL: "module\nname\n"
                let module = try readLine()
                let name = try readLine()
                push(.global(try resolveGlobal(module: module, name: name)))
            case 0x93: // STACK_GLOBAL
                let name = try pop()
                let module = try pop()
                guard case .string(let moduleName) = module, case .string(let globalName) = name else {
                    throw invalid("STACK_GLOBAL needs two strings")
                }
                push(.global(try resolveGlobal(module: moduleName, name: globalName)))
            case 0x51: // BINPERSID
                push(try persistentLoad(pop()))
            case 0x52: // REDUCE
                let arguments = try pop()
                let callable = try pop()
                push(try reduce(callable, arguments))
            case 0x62: // BUILD: instance state; only an OrderedDict state dict carries any (`_metadata`), which is dropped
                _ = try pop()
                let target = try top()
                guard case .object(let index) = target, objects[index].kind == .dict else {
                    throw invalid("BUILD on \(kindName(target)) is not supported")
                }
            default:
                throw invalid("unsupported opcode 0x\(String(opcode, radix: 16))")
            }
        }
    }

    // MARK: - torch semantics

    private func resolveGlobal(module: String, name: String) throws -> PickleGlobal {
        guard let global = PickleGlobal(module: module, name: name) else {
            throw CheckpointError.forbiddenGlobal(url, module: module, name: name)
        }
        return global
    }

    /// torch.save's persistent id: ('storage', storage class, key, location, element count).
    private func persistentLoad(_ id: PickleValue) throws -> PickleValue {
        let fields = try tupleItems(id, what: "persistent id")
        guard fields.count == 5, case .string("storage") = fields[0],
              case .global(let storageType) = fields[1], case .string(let key) = fields[2],
              case .string = fields[3], case .int(let count) = fields[4], count >= 0
        else { throw invalid("persistent id is not ('storage', type, key, location, size)") }
        switch storageType {
        case .typedStorage(let dtype):
            let (byteCount, overflow) = count.multipliedReportingOverflow(by: dtype.size)
            guard !overflow else { throw invalid("storage '\(key)' size overflows") }
            return .storage(key: key, dtype: dtype, byteCount: byteCount)
        case .untypedStorage:
            return .storage(key: key, dtype: nil, byteCount: count)
        default:
            throw invalid("persistent id names a non-storage type")
        }
    }

    private mutating func reduce(_ callable: PickleValue, _ argumentTuple: PickleValue) throws -> PickleValue {
        guard case .global(let function) = callable else { throw invalid("REDUCE on \(kindName(callable))") }
        let arguments = try tupleItems(argumentTuple, what: "REDUCE arguments")
        switch function {
        case .orderedDict:
            guard arguments.isEmpty else { throw invalid("OrderedDict called with arguments") }
            return newObject(.dict)
        case .rebuildTensorV2, .rebuildTensorV3:
            // v2: (storage, offset, size, stride, requires_grad, hooks[, metadata])
            // v3: (storage, offset, size, stride, requires_grad, hooks, dtype[, metadata])
            let isV3 = function == .rebuildTensorV3
            guard (isV3 ? 7 ... 8 : 6 ... 7).contains(arguments.count) else {
                throw invalid("tensor rebuild called with \(arguments.count) arguments")
            }
            guard case .storage(let key, let storageDType, let byteCount) = arguments[0],
                  case .int(let offset) = arguments[1]
            else { throw invalid("tensor rebuild arguments are not (storage, offset, …)") }
            let shape = try intTuple(arguments[2], what: "tensor size")
            let strides = try intTuple(arguments[3], what: "tensor stride")
            guard shape.count == strides.count else { throw invalid("tensor size and stride differ in rank") }
            let dtype: TensorDType
            if isV3 {
                guard case .global(.dtype(let declared)) = arguments[6] else { throw invalid("_rebuild_tensor_v3 without a dtype") }
                dtype = declared
            } else {
                guard let typed = storageDType else { throw invalid("_rebuild_tensor_v2 on an untyped storage") }
                dtype = typed
            }
            return .tensor(PickledTensor(
                storageKey: key, storageByteCount: byteCount, dtype: dtype, offset: offset, shape: shape, strides: strides))
        case .rebuildParameter, .rebuildParameterWithState:
            // (data, requires_grad, hooks[, state]): a Parameter is its data for reading purposes.
            guard arguments.count == (function == .rebuildParameter ? 3 : 4), case .tensor = arguments[0] else {
                throw invalid("parameter rebuild arguments are not (tensor, requires_grad, hooks)")
            }
            return arguments[0]
        case .typedStorage, .untypedStorage, .dtype:
            throw invalid("a storage type or dtype is called")
        }
    }

    // MARK: - Stack, memo and objects

    private mutating func push(_ value: PickleValue) {
        stack.append(value)
    }

    private mutating func pop() throws -> PickleValue {
        // Values above the innermost mark belong to it; popping below it means a malformed pickle.
        guard let value = stack.last, stack.count > (marks.last ?? 0) else { throw invalid("stack underflow") }
        stack.removeLast()
        return value
    }

    private func top() throws -> PickleValue {
        guard let value = stack.last else { throw invalid("stack underflow") }
        return value
    }

    private mutating func popToMark() throws -> [PickleValue] {
        guard let mark = marks.popLast(), mark <= stack.count else { throw invalid("no MARK to pop to") }
        let items = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return items
    }

    private func memoValue(_ key: Int) throws -> PickleValue {
        guard let value = memo[key] else { throw invalid("memo key \(key) was never stored") }
        return value
    }

    private mutating func newObject(_ kind: PickleObject.Kind, items: [PickleValue] = []) -> PickleValue {
        objects.append(PickleObject(kind: kind, items: items))
        return .object(objects.count - 1)
    }

    private func listIndex(_ value: PickleValue) throws -> Int {
        guard case .object(let index) = value, objects[index].kind == .list else { throw invalid("APPEND to \(kindName(value))") }
        return index
    }

    private mutating func setItems(_ items: [PickleValue], in target: PickleValue) throws {
        guard case .object(let index) = target, objects[index].kind == .dict else { throw invalid("SETITEM on \(kindName(target))") }
        guard items.count % 2 == 0 else { throw invalid("odd number of items for a dict") }
        for pair in stride(from: 0, to: items.count, by: 2) {
            objects[index].pairs.append((items[pair], items[pair + 1]))
        }
    }

    private func tupleItems(_ value: PickleValue, what: String) throws -> [PickleValue] {
        guard case .object(let index) = value, objects[index].kind == .tuple else { throw invalid("\(what) is \(kindName(value)), not a tuple") }
        return objects[index].items
    }

    private func intTuple(_ value: PickleValue, what: String) throws -> [Int] {
        try tupleItems(value, what: what).map {
            guard case .int(let int) = $0 else { throw invalid("\(what) holds \(kindName($0)), not an integer") }
            return int
        }
    }

    /// A short name for a value's kind, for error messages (never recursing into containers).
    private func kindName(_ value: PickleValue) -> String {
        switch value {
        case .none: "None"
        case .bool: "a bool"
        case .int: "an integer"
        case .float: "a float"
        case .string: "a string"
        case .bytes: "bytes"
        case .global: "a class or function"
        case .storage: "a storage"
        case .tensor: "a tensor"
        case .object(let index):
            switch objects[index].kind {
            case .list: "a list"
            case .tuple: "a tuple"
            case .dict: "a dict"
            }
        }
    }

    // MARK: - Reading bytes

    private func invalid(_ reason: String) -> CheckpointError {
        .invalidPickle(url, offset: opcodeStart, reason: reason)
    }

    private mutating func read(_ count: Int) throws -> UnsafeRawBufferPointer {
        guard let chunk = bytes.slice(position, count) else { throw invalid("truncated: \(count) bytes wanted at byte \(position)") }
        position += count
        return chunk
    }

    private mutating func readByte() throws -> UInt8 {
        try read(1)[0]
    }

    private mutating func readUInt16() throws -> UInt16 {
        guard let value = bytes.readLittleEndian(UInt16.self, at: position) else { throw invalid("truncated") }
        position += 2
        return value
    }

    private mutating func readUInt32() throws -> UInt32 {
        guard let value = bytes.readLittleEndian(UInt32.self, at: position) else { throw invalid("truncated") }
        position += 4
        return value
    }

    private mutating func readLength64() throws -> Int {
        guard let value = bytes.readLittleEndian(UInt64.self, at: position), let length = Int(exactly: value) else {
            throw invalid("truncated or oversized length")
        }
        position += 8
        return length
    }

    /// A little-endian two's-complement integer of `byteCount` bytes (LONG1/LONG4); wider than 64 bits is refused.
    private mutating func readLong(byteCount: Int) throws -> Int {
        guard byteCount <= 8 else { throw invalid("integer of \(byteCount) bytes is too large") }
        let raw = try read(byteCount)
        guard let last = raw.last else { return 0 }
        var value: UInt64 = last & 0x80 != 0 ? ~0 : 0
        for byte in raw.reversed() {
            value = value << 8 | UInt64(byte)
        }
        return Int(Int64(bitPattern: value))
    }

    private mutating func readString(byteCount: Int) throws -> String {
        String(decoding: try read(byteCount), as: UTF8.self)
    }

    private mutating func readLine() throws -> String {
        guard let remaining = bytes.slice(position, bytes.count - position),
              let newline = remaining.firstIndex(of: UInt8(ascii: "\n"))
        else { throw invalid("unterminated GLOBAL line") }
        return String(decoding: try read(newline + 1).dropLast(), as: UTF8.self)
    }
}
