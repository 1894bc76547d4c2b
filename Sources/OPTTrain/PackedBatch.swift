/// Training rows of `length` tokens, each packing whole examples one after another.
///
/// A token attends only to earlier tokens of its own example (a document mask), and positions
/// restart at 0 with every example, so that a packed row computes exactly what its examples would
/// one at a time. The tail after the last example is padding in a segment of its own, without loss.
public struct PackedBatch: Sendable, Equatable {
    /// One example (or the padding tail) inside a row.
    public struct Segment: Sendable, Equatable, Codable {
        public var row: Int
        public var start: Int
        public var count: Int
        public init(row: Int, start: Int, count: Int) {
            self.row = row
            self.start = start
            self.count = count
        }
    }

    public let rows: Int
    public let length: Int
    /// Token ids, `rows × length`.
    public var tokens: [Int32]
    /// Position of each token inside its segment.
    public var positions: [Int32]
    /// The token each position is trained to predict, or -1 where there is no loss.
    public var targets: [Int32]
    public var segments: [Segment]

    /// A batch of padding only; `PackedBatch.Builder` fills it.
    public init(rows: Int, length: Int, padToken: Int32) {
        self.rows = rows
        self.length = length
        tokens = Array(repeating: padToken, count: rows * length)
        positions = Array(repeating: 0, count: rows * length)
        targets = Array(repeating: -1, count: rows * length)
        segments = []
    }

    /// Places `tokens` at `row`/`start` as one segment; `lossMask[i]` says whether `tokens[i]` is
    /// predicted (by the position before it). A segment that does not fit is refused with an error that
    /// names it, so that a caller can report it.
    public mutating func place(_ tokens: [Int32], lossMask: [Bool], row: Int, start: Int) throws(TrainingError) {
        guard tokens.count == lossMask.count, (0..<rows).contains(row), start >= 0, start + tokens.count <= length else {
            throw TrainingError.invalidOption("a segment of \(tokens.count) tokens (\(lossMask.count) mask values) does not fit row \(row) of \(rows) at \(start) of \(length)")
        }
        let base = row * length + start
        for (i, token) in tokens.enumerated() {
            self.tokens[base + i] = token
            positions[base + i] = Int32(i)
            if i > 0, lossMask[i] { targets[base + i - 1] = token }
        }
        segments.append(Segment(row: row, start: start, count: tokens.count))
    }

    /// Closes every row with a padding segment over what is left of it.
    public mutating func padRows() {
        for row in 0..<rows {
            let used = segments.filter { $0.row == row }.map { $0.start + $0.count }.max() ?? 0
            guard used < length else { continue }
            for i in used..<length { positions[row * length + i] = Int32(i - used) }
            segments.append(Segment(row: row, start: used, count: length - used))
        }
        segments.sort { ($0.row, $0.start) < ($1.row, $1.start) }
    }

    /// Positions that carry a loss.
    public var labelCount: Int { targets.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) } }
}
