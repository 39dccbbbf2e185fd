// Run an ONNX model under ONNX Runtime (npm's onnxruntime-node, CPU) on
// the rows of a CSV file and print one CSV row of outputs per input, with
// 9 significant digits as `netc predict` prints them.
//
// usage: node tests/onnx/run.js MODEL.onnx INPUTS.csv DIMS
//   DIMS: the per-sample shape, comma-separated (784, or 1,28,28)
'use strict';
const fs = require('fs');
const path = require('path');

async function main() {
    const [model, inputs, dims] = process.argv.slice(2);
    if (!dims) {
        console.error('usage: node run.js MODEL.onnx INPUTS.csv DIMS');
        process.exit(2);
    }
    const ort = require(path.join(__dirname, 'node_modules', 'onnxruntime-node'));
    const shape = dims.split(',').map(Number);
    const per = shape.reduce((a, b) => a * b, 1);
    const rows = fs.readFileSync(inputs, 'utf8').split('\n').filter((l) => l.trim() !== '');
    const data = new Float32Array(rows.length * per);
    rows.forEach((line, r) => {
        const v = line.split(',').map(Number);
        if (v.length !== per) throw new Error(`row ${r + 1} has ${v.length} values, not ${per}`);
        data.set(v, r * per);
    });
    const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
    const out = await session.run({ input: new ort.Tensor('float32', data, [rows.length, ...shape]) });
    const y = out.output;
    const n = y.data.length / rows.length;
    const lines = [];
    for (let r = 0; r < rows.length; r++) {
        const vals = [];
        for (let i = 0; i < n; i++) vals.push(Number(y.data[r * n + i].toPrecision(9)).toString());
        lines.push(vals.join(','));
    }
    process.stdout.write(lines.join('\n') + '\n');
}

main().catch((e) => {
    console.error(`run.js: ${e.message}`);
    process.exit(1);
});
