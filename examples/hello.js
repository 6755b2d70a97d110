// A Node.js action: `squall action create hello-js examples/hello.js` (kind nodejs:default).
function main(params) {
    console.log(`greeting ${params.name || 'stranger'}`);
    return { greeting: `Hello ${params.name || 'stranger'}` };
}
